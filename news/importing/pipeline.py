"""Import runs: gather files (paths, folders, uploads, zips) and report per-file outcomes.

Each file goes through `news.services.bulletin_import` in its own transaction, so one bad
file never stops or half-writes the others.
"""

import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Guards for uploaded archives: enough for a day's scrape, not a zip bomb.
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    name: str
    read: Callable[[], bytes]


@dataclass
class FileResult:
    file: str
    status: str  # "imported" | "duplicate" | "error"
    error: str = ""
    bulletin_id: int | None = None
    url: str = ""
    duplicate_of: int | None = None


@dataclass
class ImportReport:
    results: list[FileResult] = field(default_factory=list)
    dry_run: bool = False

    def _with(self, status):
        return [r for r in self.results if r.status == status]

    @property
    def imported(self) -> list[FileResult]:
        return self._with("imported")

    @property
    def duplicates(self) -> list[FileResult]:
        return self._with("duplicate")

    @property
    def errors(self) -> list[FileResult]:
        return self._with("error")

    def as_json(self) -> dict:
        return {
            "imported": len(self.imported),
            "duplicates": len(self.duplicates),
            "errors": [{"file": r.file, "error": r.error} for r in self.errors],
            "bulletins": [
                {"file": r.file, "id": r.bulletin_id, "url": r.url}
                for r in self.imported
                if r.bulletin_id is not None
            ],
        }


def _read_limited(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ValueError(f"文件过大(超过 {MAX_FILE_BYTES // 1024 // 1024} MB)")
        return path.read_bytes()

    return read


def sources_from_paths(paths: Iterable[str | Path]) -> Iterator[SourceFile]:
    """Files as given, folders recursively (sorted, hidden files skipped)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or child.suffix == ".json":
                    continue
                yield SourceFile(str(child), _read_limited(child))
        else:
            yield SourceFile(str(path), _read_limited(path))


def sources_from_upload(name: str, data: bytes) -> Iterator[SourceFile]:
    """One uploaded file; a .zip yields its members."""
    if not name.lower().endswith(".zip"):
        yield SourceFile(name, lambda: data)
        return
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        yield SourceFile(name, _raise("不是有效的 zip 压缩包"))
        return
    members = [
        m
        for m in archive.infolist()
        if not m.is_dir() and not m.filename.startswith("__MACOSX/") and "/." not in m.filename
    ]
    total = sum(m.file_size for m in members)
    if len(members) > MAX_ZIP_MEMBERS or total > MAX_ZIP_TOTAL_BYTES:
        yield SourceFile(name, _raise(f"压缩包过大({len(members)} 个文件, {total} 字节)"))
        return
    for member in sorted(members, key=lambda m: m.filename):
        yield SourceFile(f"{name}/{member.filename}", _member_reader(archive, member))


def _member_reader(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        if member.file_size > MAX_FILE_BYTES:
            raise ValueError(f"文件过大(超过 {MAX_FILE_BYTES // 1024 // 1024} MB)")
        return archive.read(member)

    return read


def _raise(message: str) -> Callable[[], bytes]:
    def read() -> bytes:
        raise ValueError(message)

    return read


BATCH_SIZE = 100  # files per commit (each file still has its own savepoint)


def run_import(
    sources: Iterable[SourceFile],
    *,
    publish: bool = True,
    dry_run: bool = False,
    progress: Callable[[FileResult], None] | None = None,
) -> ImportReport:
    from news.services import bulletins_import

    report = ImportReport(dry_run=dry_run)
    cache: dict = {}
    batch: list[tuple[str, bytes]] = []

    def flush():
        for result in bulletins_import(files=batch, publish=publish, dry_run=dry_run, cache=cache):
            report.results.append(result)
            if progress:
                progress(result)
        batch.clear()

    for source in sources:
        try:
            batch.append((source.name, source.read()))
        except (OSError, ValueError) as exc:
            flush()  # keep results in input order
            result = FileResult(source.name, "error", error=f"{source.name}: 无法读取: {exc}")
            report.results.append(result)
            if progress:
                progress(result)
            continue
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
    return report
