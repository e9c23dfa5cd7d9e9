// Dependent selects: the city list follows the province, the district list the city.
(function () {
  "use strict";
  var form = document.querySelector("form.filters[data-region-url]");
  if (!form) return;
  var urlFor = function (id) { return form.dataset.regionUrl.replace("/0/", "/" + id + "/"); };
  var province = form.querySelector("select[name=province]");
  var city = form.querySelector("select[name=city]");
  var district = form.querySelector("select[name=district]");

  function reset(select) {
    while (select.options.length > 1) select.remove(1);
    select.value = "";
  }
  function load(parentSelect, childSelect, after) {
    reset(childSelect);
    if (after) reset(after);
    if (!parentSelect.value) return;
    fetch(urlFor(parentSelect.value), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        data.results.forEach(function (r) { childSelect.add(new Option(r.name, r.id)); });
      });
  }
  if (province && city) province.addEventListener("change", function () { load(province, city, district); });
  if (city && district) city.addEventListener("change", function () { load(city, district); });
})();
