// The charts of a run that is training, each drawn on a canvas: the per-batch curve
// and the loss and accuracy per epoch.
//
// Streamlit calls this function with the new series every second while the run
// trains. Drawing them on canvases takes well under a millisecond, where a Plotly
// chart is rebuilt completely on every update (~100 ms of browser CPU each second,
// taken from training when the browser shares the server's cores). The user's zoom
// and hover live on each canvas element, so they survive the updates.
//
// data: {<panel>: {title, x_title, y_title, x_name, x_plural, percent, integer_x, summary,
//                  empty, x: [...], series: [{name, hover, values: [...], color,
//                  width, alpha, markers}]}}
// where <panel> is the data-panel attribute of a canvas in the component's HTML.

const PAD = { left: 60, right: 14, top: 34, bottom: 42 };

function pen(ctx, series) {
  ctx.globalAlpha = series.alpha;
  ctx.strokeStyle = series.color;
  ctx.fillStyle = series.color;
  ctx.lineWidth = series.width;
  ctx.beginPath();
}

export default function (component) {
  const { data, parentElement } = component;
  for (const canvas of parentElement.querySelectorAll("canvas[data-panel]")) {
    let state = canvas.liveChart;
    if (!state) {
      state = canvas.liveChart = { zoom: null, hover: null, drag: null };
      listen(canvas, state);
    }
    state.data = data[canvas.dataset.panel];
    draw(canvas, state);
  }
}

// Drag across the chart to zoom into that range, double-click to zoom out, hover to
// read the values at a point.
function listen(canvas, state) {
  const dataX = (event) => {
    if (!state.frame) return null; // nothing drawn yet
    const { x0, x1, width } = state.frame;
    const px = event.offsetX - PAD.left;
    return x0 + (Math.min(Math.max(px, 0), width) / width) * (x1 - x0);
  };
  canvas.addEventListener("mousedown", (event) => {
    const x = dataX(event);
    if (x !== null) state.drag = { from: event.offsetX, to: event.offsetX, x };
  });
  canvas.addEventListener("mousemove", (event) => {
    if (state.drag) state.drag.to = event.offsetX;
    state.hover = dataX(event);
    draw(canvas, state);
  });
  canvas.addEventListener("mouseup", (event) => {
    const drag = state.drag;
    state.drag = null;
    if (drag && Math.abs(event.offsetX - drag.from) > 4) {
      const x = dataX(event);
      state.zoom = [Math.min(drag.x, x), Math.max(drag.x, x)];
    }
    draw(canvas, state);
  });
  canvas.addEventListener("mouseleave", () => {
    state.hover = null;
    state.drag = null;
    draw(canvas, state);
  });
  canvas.addEventListener("dblclick", () => {
    state.zoom = null;
    draw(canvas, state);
  });
  new ResizeObserver(() => draw(canvas, state)).observe(canvas);
}

// About `count` round tick values (1, 2 or 5 times a power of ten, at least
// `minStep` apart) from lo to hi.
function ticks(lo, hi, count, minStep = 0) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = Math.max(minStep, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

// A tick label: as short as its place on the axis allows.
function label(value, percent) {
  if (percent) return `${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%`;
  return Math.abs(value) >= 1000 ? value.toLocaleString() : String(+value.toPrecision(3));
}

// A value under the pointer, written as the page writes metrics (charts.metric_text).
function valueText(value, percent) {
  if (value === null || value === undefined) return "not a number"; // NaN or infinite
  return percent ? `${(value * 100).toFixed(2)}%` : value.toFixed(4);
}

// Index of the last x at or before `value` (x is sorted).
function before(xs, value) {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid] <= value) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function draw(canvas, state) {
  const data = state.data;
  const cssWidth = canvas.clientWidth;
  const cssHeight = canvas.clientHeight;
  if (!data || !cssWidth) return;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(cssWidth * ratio)) {
    canvas.width = Math.round(cssWidth * ratio);
    canvas.height = Math.round(cssHeight * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  const style = getComputedStyle(canvas);
  const ink = style.color || "#31333f";
  ctx.font = `12px ${style.fontFamily}`;
  ctx.fillStyle = ink;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.fillText(data.title, PAD.left, 16);

  const width = cssWidth - PAD.left - PAD.right;
  const height = cssHeight - PAD.top - PAD.bottom;
  const zoomed = state.zoom
    ? ` Zoomed to ${data.x_plural} ${Math.round(state.zoom[0])} to ` +
      `${Math.round(state.zoom[1])}; double-click to zoom out.`
    : "";
  canvas.setAttribute("aria-label", data.summary + zoomed);
  if (!data.x.length) {
    ctx.textAlign = "center";
    ctx.fillText(data.empty, PAD.left + width / 2, PAD.top + height / 2);
    state.frame = null;
    return;
  }
  const view = scales(data, state.zoom, width, height);
  state.frame = { x0: view.x0, x1: view.x1, width };
  drawAxes(ctx, data, view, width, height);
  drawCurves(ctx, data, view, width, height);
  drawLegend(ctx, data, width, ink);
  drawPointer(ctx, data, state, view, width, height, ink);
}

// The visible ranges (all of the data, or the zoomed part, with a little room) and
// the functions from data to canvas coordinates.
function scales(data, zoom, width, height) {
  const xs = data.x;
  const n = xs.length;
  let [x0, x1] = zoom || [xs[0], xs[n - 1]];
  const first = zoom ? before(xs, x0) : 0;
  const last = zoom ? before(xs, x1) : n - 1;
  if (x1 <= x0) {
    // One point (the first epoch): put it in the middle.
    x0 -= 0.5;
    x1 = x0 + 1;
  } else if (!zoom && data.series.some((series) => series.markers)) {
    // Room for the first and last markers.
    const room = (x1 - x0) * 0.03;
    x0 -= room;
    x1 += room;
  }
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const series of data.series) {
    for (let i = first; i <= last; i++) {
      const v = series.values[i];
      if (v === null) continue; // a NaN or infinite loss: a gap in the line
      if (v < y0) y0 = v;
      if (v > y1) y1 = v;
    }
  }
  if (y0 === Infinity) {
    y0 = 0;
    y1 = 1;
  } else if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  } else {
    // A little room above and below, so the extremes are not on the frame.
    const room = (y1 - y0) * 0.05;
    y0 -= room;
    y1 += room;
  }
  return {
    x0,
    x1,
    first,
    last,
    y0,
    y1,
    px: (x) => PAD.left + ((x - x0) / (x1 - x0)) * width,
    py: (y) => PAD.top + (1 - (y - y0) / (y1 - y0)) * height,
  };
}

// Grid, tick labels and axis titles.
function drawAxes(ctx, data, view, width, height) {
  const { px, py } = view;
  ctx.strokeStyle = "rgba(151, 166, 195, 0.3)";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  for (const t of ticks(view.y0, view.y1, 4)) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, py(t));
    ctx.lineTo(PAD.left + width, py(t));
    ctx.stroke();
    ctx.fillText(label(t, data.percent), PAD.left - 6, py(t));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks(view.x0, view.x1, 8, data.integer_x ? 1 : 0)) {
    ctx.fillText(label(t, false), px(t), PAD.top + height + 6);
  }
  ctx.fillText(data.x_title, PAD.left + width / 2, PAD.top + height + 24);
  ctx.save();
  ctx.translate(14, PAD.top + height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(data.y_title, 0, -6);
  ctx.restore();
}

// The curves, clipped to the plot area, with their markers.
function drawCurves(ctx, data, view, width, height) {
  const xs = data.x;
  const { px, py } = view;
  ctx.save();
  ctx.beginPath();
  ctx.rect(PAD.left, PAD.top, width, height);
  ctx.clip();
  // One point either side of the visible range, so the lines reach the edges.
  const from = Math.max(view.first - 1, 0);
  const to = Math.min(view.last + 1, xs.length - 1);
  for (const series of data.series) {
    const values = series.values;
    pen(ctx, series);
    let drawing = false;
    for (let i = from; i <= to; i++) {
      if (values[i] === null) {
        drawing = false;
      } else if (drawing) {
        ctx.lineTo(px(xs[i]), py(values[i]));
      } else {
        ctx.moveTo(px(xs[i]), py(values[i]));
        drawing = true;
      }
    }
    ctx.stroke();
    if (series.markers) {
      for (let i = from; i <= to; i++) {
        if (values[i] === null) continue;
        ctx.beginPath();
        ctx.arc(px(xs[i]), py(values[i]), 3.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
  ctx.restore();
  ctx.globalAlpha = 1;
}

// Legend, top right, but never over the title on a narrow screen.
function drawLegend(ctx, data, width, ink) {
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  const entry = (series) => 22 + ctx.measureText(series.name).width + 18;
  const legendWidth = data.series.reduce((sum, series) => sum + entry(series), 0);
  let lx = Math.max(
    PAD.left + width - legendWidth,
    PAD.left + ctx.measureText(data.title).width + 24,
  );
  for (const series of data.series) {
    pen(ctx, series);
    ctx.moveTo(lx, 16);
    ctx.lineTo(lx + 18, 16);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = ink;
    ctx.fillText(series.name, lx + 22, 16);
    lx += entry(series);
  }
}

// The zoom being dragged, or the values under the pointer; the way out of a zoom.
function drawPointer(ctx, data, state, view, width, height, ink) {
  const xs = data.x;
  if (state.drag) {
    ctx.fillStyle = "rgba(151, 166, 195, 0.25)";
    const left = Math.min(state.drag.from, state.drag.to);
    ctx.fillRect(left, PAD.top, Math.abs(state.drag.to - state.drag.from), height);
  } else if (state.hover !== null) {
    const i = before(xs, state.hover);
    const x = view.px(xs[i]);
    ctx.strokeStyle = ink;
    ctx.globalAlpha = 0.5;
    ctx.beginPath();
    ctx.moveTo(x, PAD.top);
    ctx.lineTo(x, PAD.top + height);
    ctx.stroke();
    ctx.globalAlpha = 1;
    const values = data.series.map((s) =>
      `${s.hover} ${valueText(s.values[i], data.percent)}`.trim(),
    );
    const text = `${data.x_name} ${xs[i].toLocaleString()}: ${values.join(", ")}`;
    const boxWidth = ctx.measureText(text).width + 12;
    const bx = Math.max(PAD.left, Math.min(x + 8, PAD.left + width - boxWidth));
    ctx.fillStyle = "rgba(255, 255, 255, 0.9)";
    ctx.fillRect(bx, PAD.top + 4, boxWidth, 20);
    ctx.fillStyle = "#31333f";
    ctx.fillText(text, bx + 6, PAD.top + 14);
  }
  if (state.zoom) {
    ctx.fillStyle = ink;
    ctx.textAlign = "right";
    ctx.fillText("double-click to zoom out", PAD.left + width, PAD.top + height + 30);
  }
}
