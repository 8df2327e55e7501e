/* Hotline 1022 dashboard: draws every <canvas data-chart> with Chart.js (served locally).
   The data and its labels come from the server in the data-chart attribute, so this file
   has no text of its own to translate and no inline script is needed. */
(function () {
  "use strict";

  function draw(canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var horizontal = Boolean(spec.horizontal);
    var valueAxis = horizontal ? "x" : "y";
    var categoryAxis = horizontal ? "y" : "x";
    var scales = {};
    scales[categoryAxis] = { stacked: Boolean(spec.stacked), ticks: { autoSkip: !horizontal } };
    scales[valueAxis] = { stacked: Boolean(spec.stacked), beginAtZero: true };
    if (spec.max) {
      scales[valueAxis].max = spec.max;
    }
    var height = horizontal ? Math.max(220, 28 * spec.labels.length + 80) : 300;
    canvas.parentElement.style.height = height + "px";
    var chart = new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        animation: false,
        maintainAspectRatio: false,
        responsive: true,
        scales: scales,
        plugins: { legend: { display: spec.datasets.length > 1, position: "bottom" } }
      }
    });
    canvas.setAttribute("data-rendered", chart ? "1" : "0");
  }

  function init() {
    if (!window.Chart) {
      return;
    }
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i += 1) {
      draw(canvases[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
