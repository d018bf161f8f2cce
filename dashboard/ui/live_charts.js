// The charts of a run that is training: the per-batch curve and the loss and accuracy
// per epoch, each a uPlot chart (vendor/uplot, prepended to this file by live_charts.py).
//
// Streamlit calls this function with the new series every second while the run
// trains. uPlot redraws a chart from new data in well under a millisecond, where a
// Plotly chart is rebuilt completely on every update (~100 ms of browser CPU each
// second, taken from training when the browser shares the server's cores). Each chart
// lives on its element, so the user's zoom (drag across it; double-click to zoom out)
// and the values under the pointer survive the updates.
//
// data: {<panel>: {title, x_title, y_title, x_name, x_plural, percent, integer_x, summary,
//                  empty, height, x: [...], series: [{name, hover, values: [...], color,
//                  width, alpha, markers}]}}
// where <panel> is the data-panel attribute of an element in the component's HTML.

// Whole numbers only on an axis of batches or epochs: 1, 2, 5, 10, 20, 50, ...
const INTEGER_STEPS = [];
for (let power = 1; power <= 1e9; power *= 10) INTEGER_STEPS.push(power, 2 * power, 5 * power);

export default function (component) {
  const { data, parentElement } = component;
  for (const box of parentElement.querySelectorAll("[data-panel]")) {
    show(box, data[box.dataset.panel]);
  }
}

function show(box, panel) {
  let state = box.liveChart;
  if (!state) {
    state = box.liveChart = { plot: null, shape: "", shown: [] };
    new ResizeObserver(() => fit(box, state)).observe(box);
  }
  state.panel = panel;
  const empty = box.querySelector(".empty");
  if (!panel.x.length) {
    state.plot?.destroy();
    state.plot = null;
    empty.textContent = panel.empty;
    empty.hidden = false;
    box.setAttribute("aria-label", panel.summary);
    return;
  }
  empty.hidden = true;
  const columns = [panel.x, ...panel.series.map((series) => series.values)];
  // A new set of curves (validation appears after the first epoch): a new chart.
  const shape = panel.series.map((series) => series.hover).join("\n");
  if (!state.plot || state.shape !== shape) {
    state.plot?.destroy();
    state.shown = panel.x;
    state.plot = new uPlot(options(box, state), columns, box);
    state.shape = shape;
  } else {
    // Keep the user's zoom while newer points arrive; else follow all of the data.
    const zoomed = zoomRange(state) !== null;
    state.shown = panel.x;
    state.plot.setData(columns, !zoomed);
    renameSeries(state.plot, panel);
  }
  label(box, state);
}

function options(box, state) {
  const panel = state.panel;
  const ink = getComputedStyle(box).color || "#31333f";
  const grid = { stroke: "rgba(151, 166, 195, 0.3)", width: 1 };
  const axis = { stroke: ink, grid, ticks: grid, font: "12px sans-serif", labelFont: "12px sans-serif" };
  return {
    title: panel.title,
    width: Math.max(box.clientWidth, 200),
    height: panel.height,
    scales: { x: { time: false } },
    cursor: { drag: { x: true, y: false, setScale: true } },
    series: [
      { label: panel.x_name, value: (u, v) => (v == null ? "" : v.toLocaleString()) },
      ...panel.series.map((series) => ({
        label: series.name,
        stroke: rgba(series.color, series.alpha),
        width: series.width,
        points: { show: series.markers, size: 7, fill: series.color, stroke: series.color },
        value: (u, v) => valueText(v, state.panel.percent),
      })),
    ],
    axes: [
      {
        ...axis,
        label: panel.x_title,
        incrs: panel.integer_x ? INTEGER_STEPS : undefined,
        values: (u, ticks) => ticks.map((t) => tickText(t, false)),
      },
      {
        ...axis,
        label: panel.y_title,
        size: 56,
        values: (u, ticks) => ticks.map((t) => tickText(t, state.panel.percent)),
      },
    ],
    hooks: { setScale: [(u, key) => key === "x" && label(box, state, u)] },
  };
}

// Legend names that change as the run goes (the moving average's window) without
// a new chart, which would lose the zoom.
function renameSeries(plot, panel) {
  const names = plot.root.querySelectorAll(".u-legend .u-series .u-label");
  panel.series.forEach((series, i) => {
    const name = names[i + 1]; // the first entry is the x axis
    if (name && name.textContent !== series.name) name.textContent = series.name;
  });
}

function fit(box, state) {
  if (state.plot && box.clientWidth) {
    state.plot.setSize({ width: box.clientWidth, height: state.panel.height });
  }
}

// The x range the user zoomed to, or null when the chart shows every point it was
// last given (state.shown: a range that ended at the last point is not a zoom).
function zoomRange(state, plot = state.plot) {
  const xs = state.shown;
  if (!plot) return null;
  const { min, max } = plot.scales.x;
  if (min == null || max == null || xs.length < 2) return null;
  const slack = (xs[xs.length - 1] - xs[0]) * 1e-6;
  return min > xs[0] + slack || max < xs[xs.length - 1] - slack ? [min, max] : null;
}

// The accessible name: what the chart shows now, and the zoom with the way out of it.
function label(box, state, plot = state.plot) {
  const zoom = zoomRange(state, plot);
  const zoomed = zoom
    ? ` Zoomed to ${state.panel.x_plural} ${Math.round(zoom[0])} to ` +
      `${Math.round(zoom[1])}; double-click to zoom out.`
    : "";
  box.setAttribute("aria-label", state.panel.summary + zoomed);
}

function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// A tick label: as short as its place on the axis allows.
function tickText(value, percent) {
  if (value == null) return "";
  if (percent) return `${(value * 100).toFixed(Math.abs(value) < 0.1 ? 1 : 0)}%`;
  return Math.abs(value) >= 1000 ? value.toLocaleString() : String(+value.toPrecision(3));
}

// A value under the pointer, written as the page writes metrics (run_compare.metric_text).
function valueText(value, percent) {
  if (value === null || value === undefined) return "—"; // no point here, or NaN / infinite
  return percent ? `${(value * 100).toFixed(2)}%` : value.toFixed(4);
}
