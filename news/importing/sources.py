"""Where import files come from: paths and folders, uploads, zip archives (with limits)."""

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Guards for uploaded archives: enough for a day's scrape, not a zip bomb.
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_TOTAL_BYTES = 500 * 1024 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    name: str
    read: Callable[[], bytes]


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
