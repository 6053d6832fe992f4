/* The tiled map pages (gis_service.tiled_maps): Leaflet + Leaflet.VectorGrid over our own
 * vector tiles. The page's JSON document (#map-config) says what to draw; nothing here knows
 * the data. No other script runs on the page (its CSP allows no inline script). */
(function () {
  'use strict';
  // Leaflet 1.8 removed L.DomEvent.fakeStop, which VectorGrid 1.3.0's canvas click handler
  // calls: without it every click on a cell throws and no popup opens (Leaflet.VectorGrid
  // #274; fixed upstream in #288, unreleased). The old fakeStop only marked the event, so
  // the map does not also treat the click as a click on the map (which closes popups).
  if (!L.DomEvent.fakeStop) {
    L.DomEvent.fakeStop = function (e) { e._stopped = true; };
  }
  var config = JSON.parse(document.getElementById('map-config').textContent);
  var base = config.base, words = config.words || {};
  var map = L.map('map', {zoomSnap: 0.25, minZoom: 7, maxZoom: 18});
  window.gisMap = map;  // the browser tests and the benchmark read the map's state
  map.fitBounds([[base.bounds[1], base.bounds[0]], [base.bounds[3], base.bounds[2]]]);
  L.control.scale({imperial: false}).addTo(map);

  function pane(name, z, interactive) {
    map.createPane(name).style.zIndex = z;
    if (!interactive) { map.getPane(name).style.pointerEvents = 'none'; }
  }
  pane('gisLand', 210, false);
  pane('gisCells', 420, true);
  pane('gisWards', 450, false);
  pane('gisLabels', 460, false);

  function esc(value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function number(value, digits) {
    if (value === null || value === undefined || value === '') { return '—'; }
    return Number(value).toLocaleString(document.documentElement.lang === 'vi' ? 'vi-VN' : 'en',
      {maximumFractionDigits: digits, minimumFractionDigits: digits});
  }
  function table(rows) {
    return '<table class="gis-popup">' + rows.map(function (row) {
      return '<tr><th>' + esc(row[0]) + '</th><td>' + esc(row[1]) + '</td></tr>';
    }).join('') + '</table>';
  }
  function vectorLayer(url, layerName, style, options) {
    var styles = {};
    styles[layerName] = style;
    return L.vectorGrid.protobuf(url, L.extend({
      vectorTileLayerStyles: styles, maxNativeZoom: 16, rendererFactory: L.canvas.tile
    }, options));
  }

  var wardLayer = 'boundaries-' + base.generation;
  if (base.tiles_url) {
    L.tileLayer(base.tiles_url, {attribution: esc(base.attribution), maxZoom: 19}).addTo(map);
  } else {
    // Our own base layer: the neighbouring provinces (the national layer) and the wards as
    // land, the province's outline; the sea and Laos stay the map's background colour.
    if (base.neighbours) {
      L.geoJSON(base.neighbours, {pane: 'gisLand', interactive: false, style: {
        fill: true, fillColor: '#e4e1d6', fillOpacity: 1, color: '#9a968a', weight: 1,
        dashArray: '4 3'}}).addTo(map);
      L.layerGroup(base.neighbours.features.map(function (f) {
        return L.marker([f.properties.lat, f.properties.lon], {pane: 'gisLabels', interactive: false, keyboard: false,
          icon: L.divIcon({className: 'gis-province-label', html: esc(f.properties.name)})});
      })).addTo(map);
    }
    vectorLayer(config.wards_url, wardLayer, function (p) {
      return {fill: true, fillColor: p.setting === 'urban' ? '#efe9dc' : '#f3f2e6',
              fillOpacity: 1, stroke: false};
    }, {pane: 'gisLand', interactive: false}).addTo(map);
  }
  if (base.outline) {
    L.geoJSON(base.outline, {pane: 'gisWards', interactive: false,
                             style: {color: '#333', weight: 2.5, fill: false}}).addTo(map);
  }

  // The page's own layer: hot spot cells, or the communes themselves (coverage, boundaries).
  if (config.cells_url) {
    var cells = vectorLayer(config.cells_url, 'cells', function (p) {
      return {fill: true, fillColor: config.colours[p['class']] || '#999999', fillOpacity: 0.85,
              stroke: false};
    }, {pane: 'gisCells', interactive: true});
    cells.on('click', function (e) {
      var p = e.layer.properties;
      L.popup().setLatLng(e.latlng).setContent(table([
        [words.ward, p.ward || words.outside], [words.reports, number(p.count, 0)],
        [words['class'], words[p['class']] || p['class']], [words.z, number(p.z, 2)],
        [words.cell, p.cell]])).openOn(map);
    });
    cells.on('load', function () { window.gisCellsLoaded = performance.now(); });
    cells.addTo(map);
  }
  var values = config.values || {};
  var communeFill = Object.keys(values).length > 0 ? function (p) {
    var row = values[p.code];
    return {fill: true, fillColor: row ? row.colour : '#cccccc', fillOpacity: 0.85,
            color: row && row.flag ? '#d7301f' : '#555', weight: row && row.flag ? 3 : 1,
            dashArray: row && row.flag ? '6 4' : null};
  } : function (p) {
    return {fill: true, fillColor: p.setting === 'urban' ? '#c9b18a' : '#a8c69f',
            fillOpacity: 0.8, color: '#555', weight: 1};
  };
  var communesOnTop = !config.cells_url;
  var wards = vectorLayer(config.wards_url, wardLayer, communesOnTop ? communeFill : function () {
    return {fill: false, color: '#444', weight: 1, opacity: 0.8};
  }, {pane: communesOnTop ? 'gisCells' : 'gisWards', interactive: communesOnTop});
  if (communesOnTop) {
    wards.on('click', function (e) {
      var p = e.layer.properties, row = values[p.code];
      var rows = [[words.ward, p.name], [words.code || 'GSO', p.code],
                  ['', words[p.setting] || p.setting]];
      if (row) {
        rows = rows.concat([[words.population, number(row.population, 0)],
          [words.reports, number(row.reports, 0)], [words.rate, number(row.rate, 1)],
          [words.rate_eb, number(row.rate_eb, 1)], [words.flag, row.flag ? words.yes : words.no]]);
      }
      L.popup().setLatLng(e.latlng).setContent(table(rows)).openOn(map);
    });
    wards.on('load', function () { window.gisCellsLoaded = performance.now(); });
  }
  wards.addTo(map);

  // Ward names at city zooms (a province-wide view would be a pile of names).
  var labels = L.layerGroup(base.labels.map(function (label) {
    return L.marker([label.lat, label.lon], {pane: 'gisLabels', interactive: false,
      keyboard: false, icon: L.divIcon({className: 'gis-ward-label', html: esc(label.name)})});
  }));
  function showLabels() {
    if (map.getZoom() >= config.labelMinZoom) { labels.addTo(map); } else { labels.remove(); }
  }
  map.on('zoomend', showLabels);
  showLabels();
  window.gisMapReady = performance.now();
}());
