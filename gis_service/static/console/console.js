/* The console's list of open reports (GET /v1/reports, sorted by due date, with counts) and
 * the sign-in box. Loaded last: the other console scripts define what it calls. */
(function (C) {
  "use strict";

  var PAGE_SIZE = 200;
  var $ = function (id) { return document.getElementById(id); };
  var msg = function (name, values) { return C.t("messages", name, values); };

  /* The list's filters as /v1/reports parameters: open statuses unless one is chosen. */
  function filterParams(overrides) {
    var form = $("filters").elements;
    var params = new URLSearchParams();
    ["agency", "commune", "category"].forEach(function (name) {
      if (form[name].value) { params.set(name, form[name].value); }
    });
    var status = form.needs_location.checked ? "needs_location" : form.status.value;
    params.set("status", status || C.config.open_statuses.join(","));
    if (form.overdue.checked) { params.set("overdue", "true"); }
    Object.keys(overrides || {}).forEach(function (name) { params.set(name, overrides[name]); });
    return params;
  }

  async function total(overrides) {
    var answer = await C.call("GET", "/reports?" + filterParams(Object.assign({ page_size: "1" }, overrides)));
    return answer.total;
  }

  function isOverdue(report) {
    return report.due_at !== null && new Date(report.due_at) < new Date();
  }

  function reportRow(report) {
    var row = C.element("tr", null, isOverdue(report) ? "overdue" : "");
    row.dataset.reportId = report.id;
    var open = C.element("button", report.id, "report-link");
    open.type = "button";
    open.addEventListener("click", function () { C.openReport(report.id); });
    var first = C.element("td");
    first.appendChild(open);
    row.appendChild(first);
    [C.config.categories[report.category] || report.category, C.wardName(report),
      C.statusLabel(report.status), report.due_at ? C.formatDateTime(report.due_at) : msg("no_due")]
      .forEach(function (text) { row.appendChild(C.element("td", text)); });
    return row;
  }

  function emptyRow() {
    var row = C.element("tr");
    var cell = C.element("td", msg("no_reports"));
    cell.colSpan = 5;
    row.appendChild(cell);
    return row;
  }

  async function showCounts(found) {
    var overdue = await total({ overdue: "true" });
    var held = await total({ status: "needs_location" });
    $("counts").textContent = [msg("count_total", { count: C.formatNumber(found) }),
      msg("count_overdue", { count: C.formatNumber(overdue) }),
      msg("count_needs_location", { count: C.formatNumber(held) })].join(" · ");
  }

  /* Load the list and the map's points for the current filters. */
  C.refreshList = async function () {
    $("counts").textContent = msg("loading");
    try {
      var page = await C.call("GET", "/reports?" + filterParams({ sort: "due_at", page_size: String(PAGE_SIZE) }));
      var body = $("reports").tBodies[0];
      body.replaceChildren.apply(body, page.reports.length ? page.reports.map(reportRow)
        : [emptyRow()]);
      C.showReports(page.reports);
      await showCounts(page.total);
    } catch (error) {
      $("counts").textContent = "";
      C.showError(error);
    }
  };

  function showSignedIn() {
    var key = C.key();
    $("signin-state").textContent = key ? msg("signed_in", { key: key.slice(0, 6) }) : msg("signed_out");
    $("signout-button").hidden = !key;
  }

  /* Keep the key only if the service accepts it (a 401 is shown, and nothing is kept). */
  async function signIn(key) {
    C.setKey(key);
    try {
      await C.call("GET", "/reports?page_size=1");
      C.clearMessage();
    } catch (error) {
      C.clearKey();
      C.showError(error);
    }
    showSignedIn();
    C.refreshList();
  }

  $("signin").addEventListener("submit", function (event) {
    event.preventDefault();
    var field = $("key");
    var key = field.value.trim();
    field.value = "";
    if (key) { signIn(key); }
  });

  $("signout-button").addEventListener("click", function () {
    C.clearKey();
    showSignedIn();
    C.refreshList();
  });

  $("filters").addEventListener("change", function () { C.refreshList(); });

  showSignedIn();
  C.refreshList();
})(window.PahtConsole = window.PahtConsole || {});
