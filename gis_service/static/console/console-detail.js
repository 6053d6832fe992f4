/* A report's record (facts, routing, public answers, timeline, duplicates) and the moves a
 * signed-in agency or admin makes on it: a status with public and internal notes, a
 * duplicate link, the placing of a held report by a click on the map. */
(function (C) {
  "use strict";

  var current = null;
  var $ = function (id) { return document.getElementById(id); };
  var msg = function (name, values) { return C.t("messages", name, values); };

  function fact(list, label, value) {
    list.appendChild(C.element("dt", label));
    list.appendChild(C.element("dd", value));
  }

  function wardName(report) {
    var unit = report.current_units.commune || report.units.commune;
    return unit ? unit.name : msg("not_placed");
  }
  C.wardName = wardName;

  function renderFacts(report) {
    var list = $("detail-facts");
    list.replaceChildren();
    fact(list, msg("created"), C.formatDateTime(report.created_at));
    fact(list, msg("due"), report.due_at ? C.formatDateTime(report.due_at) : msg("no_due"));
    fact(list, msg("ward"), wardName(report));
    fact(list, msg("agency"), report.agency.name);
    if (report.description) { fact(list, msg("description"), report.description); }
  }

  function routingText(report) {
    var values = { agency: report.agency.name, rule: report.routing_rule };
    var text = msg(report.routing_rule ? "routing_rule" : "routing_default", values);
    var routed = report.events.filter(function (event) { return event.kind === "routed"; }).pop();
    // The routing's reasoning is an internal note: present only for the agency and admins.
    return routed && routed.internal_note ? text + " " + routed.internal_note : text;
  }

  function eventItem(event) {
    var item = C.element("li");
    var head = C.formatDateTime(event.at) + " · " + C.t("events", event.kind);
    if (event.to_status) { head += " → " + C.statusLabel(event.to_status); }
    if (event.agency) { head += " · " + event.agency.name; }
    item.appendChild(C.element("span", head));
    if (event.team) { item.appendChild(C.element("div", msg("team") + ": " + event.team)); }
    if (event.public_note) {
      item.appendChild(C.element("div", msg("public_note") + ": " + event.public_note, "public-note"));
    }
    if (event.internal_note) {
      item.appendChild(C.element("div", msg("internal_note") + ": " + event.internal_note, "internal-note"));
    }
    return item;
  }

  function renderRecord(report) {
    var answers = report.events.filter(function (event) { return event.public_note; });
    $("detail-answers").replaceChildren.apply($("detail-answers"), answers.length
      ? answers.map(function (event) {
        return C.element("li", C.formatDateTime(event.at) + " · " + event.public_note, "public-note");
      }) : [C.element("li", msg("no_answer"))]);
    $("detail-timeline").replaceChildren.apply($("detail-timeline"), report.events.map(eventItem));
    $("detail-routing").textContent = routingText(report);
  }

  function duplicateLine(entry) {
    var text = entry.id + " · " + C.statusLabel(entry.status) + " · " + C.formatDateTime(entry.created_at);
    if (entry.distance_m !== undefined) {
      text += " · " + msg("metres", { distance: C.formatNumber(entry.distance_m, 1) });
    }
    return C.element("li", text);
  }

  function duplicateList(title, entries) {
    var block = C.element("div");
    block.appendChild(C.element("p", title));
    var list = C.element("ul");
    entries.forEach(function (entry) { list.appendChild(duplicateLine(entry)); });
    block.appendChild(list);
    return block;
  }

  function renderDuplicates(found) {
    var box = $("detail-duplicates");
    box.replaceChildren();
    if (found.duplicate_of) { box.appendChild(C.element("p", msg("duplicate_of", { id: found.duplicate_of }))); }
    if (found.marked.length) { box.appendChild(duplicateList(msg("marked_duplicates"), found.marked)); }
    if (found.candidates.length) { box.appendChild(duplicateList(msg("candidates"), found.candidates)); }
    if (!box.children.length) { box.appendChild(C.element("p", msg("no_duplicates"))); }
  }

  function renderActions(report) {
    var moves = (C.config.transitions[report.status] || []).filter(function (s) { return s !== "duplicate"; });
    var select = $("move-status");
    select.replaceChildren.apply(select, moves.map(function (status) {
      var option = C.element("option", C.statusLabel(status));
      option.value = status;
      return option;
    }));
    $("move-form").hidden = moves.length === 0;
    $("duplicate-form").hidden = (C.config.transitions[report.status] || []).indexOf("duplicate") < 0;
    $("place-form").hidden = report.status !== "needs_location";
  }

  /* Show a report's record (with the key, when signed in: the agency sees its internal notes). */
  C.openReport = async function (id) {
    try {
      var report = await C.call("GET", "/reports/" + encodeURIComponent(id));
      var found = await C.call("GET", "/reports/" + encodeURIComponent(id) + "/duplicates");
      current = report;
      $("detail-title").textContent = report.id + " · " + C.statusLabel(report.status);
      renderFacts(report);
      renderRecord(report);
      renderDuplicates(found);
      renderActions(report);
      $("detail-panel").hidden = false;
    } catch (error) {
      C.showError(error);
    }
  };

  function needsKey() {
    if (C.key()) { return false; }
    C.showMessage(msg("key_required"), "error");
    return true;
  }

  /* PATCH the open report, then show it again and refresh the list. */
  async function patch(body, done) {
    if (!current || needsKey()) { return; }
    try {
      var changed = await C.call("PATCH", "/reports/" + encodeURIComponent(current.id), body);
      C.showMessage(done(changed), "ok");
      await C.openReport(changed.id);
      C.refreshList();
    } catch (error) {
      C.showError(error);
    }
  }

  function formBody(form, names) {
    var body = {};
    names.forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) { body[name] = value; }
    });
    return body;
  }

  $("move-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = formBody(event.target, ["status", "public_note", "internal_note", "team"]);
    if (body.status !== "assigned") { delete body.team; }
    patch(body, function (changed) { return msg("moved", { status: C.statusLabel(changed.status) }); })
      .then(function () { event.target.reset(); });
  });

  $("duplicate-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = formBody(event.target, ["duplicate_of", "internal_note"]);
    body.status = "duplicate";
    patch(body, function (changed) { return msg("marked", { id: changed.duplicate_of }); });
  });

  $("place-button").addEventListener("click", function () {
    if (!current || needsKey()) { return; }
    C.showMessage(msg("click_to_place"), "info");
    C.onNextClick(function (latlng) {
      patch({ location: { lat: latlng.lat, lon: latlng.lng } },
        function (changed) { return msg("placed", { agency: changed.agency.name }); });
    });
  });
})(window.PahtConsole = window.PahtConsole || {});
