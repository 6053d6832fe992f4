/* The console's map: the listed reports, the wards of the hotline's candidates, and clicks
 * (to place a held report, or to give the hotline report its exact point). */
(function (C) {
  "use strict";

  var HUE = [16.4637, 107.5909];
  var STATUS_COLOURS = { needs_location: "#888", received: "#1f77b4", accepted: "#17becf",
    assigned: "#9467bd", in_progress: "#ff7f0e", reopened: "#d62728" };
  var clickHandlers = [];

  function addTiles(map) {
    if (!C.config.tiles_url) { return; }
    L.tileLayer(C.config.tiles_url, { attribution: C.config.tiles_attribution, maxZoom: 19 }).addTo(map);
  }

  C.map = L.map("map", { preferCanvas: false }).setView(HUE, 12);
  addTiles(C.map);
  var reportLayer = L.layerGroup().addTo(C.map);
  var wardLayer = L.layerGroup().addTo(C.map);
  var pickLayer = L.layerGroup().addTo(C.map);

  /* Ask for the next map click: `handler(latlng)` runs once, before the standing ones. */
  C.onNextClick = function (handler) { clickHandlers.unshift({ handler: handler, once: true }); };
  /* Every map click not taken by a one-off handler goes to `handler`. */
  C.onClick = function (handler) { clickHandlers.push({ handler: handler, once: false }); };

  C.map.on("click", function (event) {
    var first = clickHandlers[0];
    if (!first) { return; }
    if (first.once) { clickHandlers.shift(); }
    first.handler(event.latlng);
  });

  function reportMarker(report) {
    var marker = L.circleMarker([report.location.lat, report.location.lon], {
      radius: 7, weight: 1, color: "#222", fillOpacity: 0.85,
      fillColor: STATUS_COLOURS[report.status] || "#444"
    });
    marker.bindTooltip(report.id + " · " + C.statusLabel(report.status));
    marker.on("click", function (event) {
      L.DomEvent.stopPropagation(event);
      C.openReport(report.id);
    });
    return marker;
  }

  /* Draw the reports that have a point (held ones have none). */
  C.showReports = function (reports) {
    reportLayer.clearLayers();
    reports.filter(function (report) { return report.location.lat !== null; })
      .forEach(function (report) { reportLayer.addLayer(reportMarker(report)); });
  };

  /* Draw the wards with these codes (from /ogc, the public boundaries) and fit the map. */
  C.showWards = async function (codes) {
    wardLayer.clearLayers();
    if (!codes.length) { return; }
    var url = C.config.wards_url + "?f=json&limit=20&code=" + encodeURIComponent(codes.join(","));
    var response = await fetch(url, { headers: { "Accept": "application/geo+json" }, credentials: "omit" });
    if (!response.ok) { return; }
    var wards = L.geoJSON(await response.json(), {
      style: { color: "#c0392b", weight: 2, fillOpacity: 0.08 },
      onEachFeature: function (feature, layer) { layer.bindTooltip(feature.properties.name); }
    });
    wardLayer.addLayer(wards);
    C.map.fitBounds(wards.getBounds(), { maxZoom: 15 });
  };

  /* Mark the hotline report's chosen place. */
  C.showPick = function (lat, lon, label) {
    pickLayer.clearLayers();
    L.marker([lat, lon], { title: label }).addTo(pickLayer);
  };

  C.clearPick = function () {
    pickLayer.clearLayers();
    wardLayer.clearLayers();
  };
})(window.PahtConsole = window.PahtConsole || {});
