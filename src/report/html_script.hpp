#pragma once
// The scripts of report.html (kept apart from the C++ that builds the page).

namespace hdeploy::report::detail {

// Runs first: records window errors, unhandled rejections and console.error calls into
// <pre id="errors"> so that a headless browser's --dump-dom shows them.
inline constexpr const char* kErrorHookScript = R"JS(
(function () {
  'use strict';
  var box = document.getElementById('errors');
  function record(text) {
    box.textContent += text + '\n';
    box.setAttribute('data-count', String((Number(box.getAttribute('data-count')) || 0) + 1));
  }
  window.hdeployRecordError = record;
  window.onerror = function (message, source, line, column) {
    record('error: ' + message + ' (line ' + line + ':' + column + ')');
  };
  window.addEventListener('unhandledrejection', function (event) {
    record('unhandled rejection: ' + String(event.reason));
  });
  var original = console.error;
  console.error = function () {
    record('console.error: ' + Array.prototype.map.call(arguments, String).join(' '));
    return original.apply(console, arguments);
  };
})();
)JS";

// Draws every chart from the JSON in <script id="report-data">, then marks each canvas that
// holds any non-blank pixel with data-drawn="1" (its place on the page in data-rect, CSS
// pixels "left,top,width,height", so a screenshot can be cropped to it) and the body with
// data-charts="done".
inline constexpr const char* kChartScript = R"JS(
(function () {
  'use strict';
  var record = window.hdeployRecordError;
  if (typeof Chart === 'undefined') { record('Chart.js did not load'); return; }
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
                 '#7f7f7f', '#bcbd22', '#17becf'];
  function colour(i) { return palette[i % palette.length]; }
  function faded(i, alpha) {
    var c = colour(i);
    var r = parseInt(c.substr(1, 2), 16), g = parseInt(c.substr(3, 2), 16),
        b = parseInt(c.substr(5, 2), 16);
    return 'rgba(' + r + ',' + g + ',' + b + ',' + alpha + ')';
  }
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';

  // Vertical dashed lines at events (throttling, clock drops, start of measurement).
  var eventMarkers = {
    id: 'eventMarkers',
    afterDatasetsDraw: function (chart, args, options) {
      var events = (options && options.events) || [];
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      if (!x || !area) return;
      ctx.save();
      ctx.font = '11px system-ui, sans-serif';
      events.forEach(function (e, n) {
        var px = x.getPixelForValue(e.t);
        if (!(px >= area.left && px <= area.right)) return;
        var c = e.kind === 'measured' ? '#555555' : (e.kind === 'throttled' ? '#d62728' : '#ff7f0e');
        ctx.strokeStyle = c;
        ctx.fillStyle = c;
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.fillText(e.kind, px + 3, area.top + 12 + 12 * (n % 3));
      });
      ctx.restore();
    }
  };

  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    try {
      return new Chart(canvas.getContext('2d'), config);
    } catch (e) {
      record('chart ' + id + ': ' + (e && e.stack ? e.stack : e));
      return null;
    }
  }
  function axis(text) { return { display: true, text: text }; }
  function line(label, points, i, extra) {
    var d = { label: label, data: points, borderColor: colour(i), backgroundColor: faded(i, 0.3),
              borderWidth: 1.5, pointRadius: 0, fill: false };
    for (var k in extra) d[k] = extra[k];
    return d;
  }

  make('chart-hist', {
    type: 'bar',
    data: {
      labels: data.histogram.labels,
      datasets: data.runs.map(function (r, i) {
        return { label: r.label, data: data.histogram.shares[i], backgroundColor: faded(i, 0.55),
                 borderColor: colour(i), borderWidth: 1, barPercentage: 1.0,
                 categoryPercentage: 0.95 };
      })
    },
    options: {
      scales: { x: { title: axis('end-to-end latency (ms, bin centre)') },
                y: { beginAtZero: true, title: axis('% of measured frames') } }
    }
  });

  make('chart-cdf', {
    type: 'line',
    data: { datasets: data.runs.map(function (r, i) { return line(r.label, data.cdf[i], i, {}); }) },
    options: {
      parsing: false, normalized: true,
      scales: { x: { type: 'linear', title: axis('end-to-end latency (ms)') },
                y: { type: 'linear', min: 0, max: 1, title: axis('fraction of frames ≤ x') } }
    }
  });

  make('chart-stages', {
    type: 'bar',
    data: {
      labels: data.runs.map(function (r) { return r.label; }),
      datasets: data.stages.names.map(function (name, s) {
        return { label: name, backgroundColor: faded(s, 0.75), borderColor: colour(s),
                 borderWidth: 1,
                 data: data.stages.means.map(function (m) { return m[s]; }) };
      })
    },
    options: {
      indexAxis: 'y',
      scales: { x: { stacked: true, beginAtZero: true, title: axis('mean time per frame (ms)') },
                y: { stacked: true } }
    }
  });

  data.timelines.forEach(function (t, i) {
    var time = { type: 'linear', beginAtZero: true, title: axis('time since the start (s)') };
    make('chart-fps-' + i, {
      type: 'line',
      data: { datasets: [
        line('completed frames/s' + (t.bin_s ? ' (' + t.bin_s + ' s bins)' : ''), t.fps, 0,
             { yAxisID: 'y' }),
        line('process CPU (% of one core)', t.cpu, 3, { yAxisID: 'y1' })
      ] },
      options: {
        parsing: false, normalized: true,
        scales: { x: time, y: { beginAtZero: true, title: axis('frames/s') },
                  y1: { position: 'right', beginAtZero: true, title: axis('CPU %'),
                        grid: { drawOnChartArea: false } } },
        plugins: { eventMarkers: { events: t.events } }
      },
      plugins: [eventMarkers]
    });
    var sets = [];
    t.freq.forEach(function (f, c) { sets.push(line(f.label, f.points, c, { yAxisID: 'y' })); });
    t.temps.forEach(function (s, k) {
      sets.push(line(s.label, s.points, k + 5, { yAxisID: 'y1', borderDash: [6, 3] }));
    });
    make('chart-sys-' + i, {
      type: 'line',
      data: { datasets: sets },
      options: {
        parsing: false, normalized: true,
        scales: { x: time, y: { beginAtZero: true, title: axis('clock (MHz)') },
                  y1: { position: 'right', title: axis('temperature (°C)'),
                        grid: { drawOnChartArea: false } } },
        plugins: { eventMarkers: { events: t.events } }
      },
      plugins: [eventMarkers]
    });
  });

  // A canvas counts as drawn when any pixel is not fully transparent.
  Array.prototype.forEach.call(document.querySelectorAll('canvas'), function (canvas) {
    try {
      var rect = canvas.getBoundingClientRect();
      canvas.setAttribute('data-rect', [rect.left + window.scrollX, rect.top + window.scrollY,
                                        rect.width, rect.height].map(Math.round).join(','));
      var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (var p = 3; p < pixels.length; p += 4) {
        if (pixels[p] !== 0) { canvas.setAttribute('data-drawn', '1'); return; }
      }
      canvas.setAttribute('data-drawn', '0');
    } catch (e) {
      record('checking ' + canvas.id + ': ' + e);
    }
  });
  document.body.setAttribute('data-charts', 'done');
})();
)JS";

}  // namespace hdeploy::report::detail
