/* The hotline intake form: the operator types what the caller says, the geocoder's
 * candidates appear as they type (debounced GET /v1/geocode) with their wards on the map;
 * the operator picks one or clicks the exact point, chooses the category and submits with
 * channel = hotline. The caller's phone goes into the report's private contact. */
(function (C) {
  "use strict";

  var DEBOUNCE_MS = 350;
  var MIN_CHARS = 3;
  var $ = function (id) { return document.getElementById(id); };
  var msg = function (name, values) { return C.t("messages", name, values); };
  var form = $("hotline-form");
  var timer = null;
  var asked = 0;
  var chosen = null;

  /* The candidate's units, ward first, in the current generation when it has one there. */
  function unitNames(candidate) {
    var units = candidate.current.commune ? candidate.current : candidate.units;
    return ["commune", "district", "province"].filter(function (level) { return units[level]; })
      .map(function (level) { return units[level].name; });
  }

  function candidateLabel(candidate) {
    var names = unitNames(candidate);
    var text = (candidate.street ? candidate.street + ", " : "") + names.join(", ");
    text += " (" + C.t("precisions", candidate.precision) + ", " + C.formatNumber(candidate.confidence, 2) + ")";
    return candidate.ambiguous ? text + " · " + msg("ambiguous") : text;
  }

  function wardCodes(results) {
    return results.map(function (candidate) { return candidate.current.commune; })
      .filter(Boolean).map(function (unit) { return unit.code; })
      .filter(function (code, index, all) { return all.indexOf(code) === index; });
  }

  function choose(location, label) {
    chosen = location;
    $("hotline-location").textContent = label;
    C.showPick(location.lat, location.lon, label);
  }

  function candidateButton(candidate) {
    var item = C.element("li");
    var button = C.element("button", candidateLabel(candidate), "candidate");
    button.type = "button";
    button.addEventListener("click", function () {
      choose({ kind: "candidate", candidate: candidate, lat: candidate.lat, lon: candidate.lon },
        msg("picked_candidate", { place: candidateLabel(candidate),
          precision: C.t("precisions", candidate.precision) }));
    });
    item.appendChild(button);
    return item;
  }

  function showCandidates(results) {
    var list = $("hotline-candidates");
    list.replaceChildren.apply(list, results.length ? results.map(candidateButton)
      : [C.element("li", msg("no_candidates"))]);
    C.showWards(wardCodes(results));
  }

  /* Ask the geocoder; an answer to an older question (the operator typed on) is dropped. */
  async function lookUp(text) {
    var question = ++asked;
    try {
      var found = await C.call("GET", "/geocode?limit=5&q=" + encodeURIComponent(text), undefined,
        { anonymous: true });
      if (question === asked) { showCandidates(found.results); }
    } catch (error) {
      if (question === asked) { C.showError(error); }
    }
  }

  $("hotline-address").addEventListener("input", function (event) {
    window.clearTimeout(timer);
    var text = event.target.value.trim();
    if (text.length < MIN_CHARS) { return; }
    timer = window.setTimeout(function () { lookUp(text); }, DEBOUNCE_MS);
  });

  C.onClick(function (latlng) {
    var lat = Math.round(latlng.lat * 1e6) / 1e6;
    var lon = Math.round(latlng.lng * 1e6) / 1e6;
    choose({ kind: "point", lat: lat, lon: lon },
      msg("picked_point", { lat: C.formatNumber(lat, 5), lon: C.formatNumber(lon, 5) }));
  });

  /* The address to send for a picked candidate: the street as typed and the units the
   * operator chose, named in full, so the service places it exactly there (or holds it, if
   * the candidate names no ward) and never at more precision than the candidate has. */
  function candidateAddress(candidate, typed) {
    var names = unitNames(candidate);
    return names.length ? [candidate.street].concat(names).filter(Boolean).join(", ") : typed;
  }

  function reportBody() {
    var fields = form.elements;
    var typed = fields.address.value.trim();
    var body = { channel: "hotline", category: fields.category.value,
      description: fields.description.value.trim() };
    var reporter = { name: fields.name.value.trim(), phone: fields.phone.value.trim() };
    reporter = Object.fromEntries(Object.entries(reporter).filter(function (pair) { return pair[1]; }));
    if (Object.keys(reporter).length) { body.reporter = reporter; }
    if (chosen.kind === "point") {
      body.lat = chosen.lat;
      body.lon = chosen.lon;
      body.location_source = "manual";
      if (typed) { body.address = typed; }
    } else if (chosen.candidate.precision === "point") {
      body.lat = chosen.candidate.lat;
      body.lon = chosen.candidate.lon;
      body.location_source = "manual";
    } else {
      body.address = candidateAddress(chosen.candidate, typed);
    }
    return body;
  }

  function reset() {
    form.reset();
    chosen = null;
    $("hotline-candidates").replaceChildren();
    $("hotline-location").textContent = "";
    C.clearPick();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!C.key()) { C.showMessage(msg("key_required"), "error"); return; }
    if (!chosen) { C.showMessage(msg("location_required"), "error"); return; }
    try {
      var stored = await C.call("POST", "/reports", reportBody());
      var report = stored.report;
      $("hotline-result").textContent = msg("submitted", { id: report.id,
        status: C.statusLabel(report.status), agency: report.agency.name });
      $("hotline-result").dataset.reportId = report.id;
      C.clearMessage();
      reset();
      C.refreshList();
    } catch (error) {
      C.showError(error);
    }
  });
})(window.PahtConsole = window.PahtConsole || {});
