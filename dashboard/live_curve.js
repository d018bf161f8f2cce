// The per-batch curve of a run that is training, drawn on a canvas.
//
// Streamlit calls this function with the new series every second while the run
// trains. Drawing ~1,000 points on a canvas takes well under a millisecond, where a
// Plotly chart is rebuilt completely on every update (~100 ms of browser CPU each
// second, taken from training when the browser shares the server's cores). The
// user's zoom and hover live on the canvas element, so they survive the updates.
//
// data: {title, x_title, y_title, percent, x: [...], y: [...],
//        average: [...], average_name, each_name, summary}

const PAD = { left: 60, right: 14, top: 34, bottom: 42 };
const COLOR = "#e4572e";
// The two curves: each batch's own value, faint, and its moving average, bold.
const LINES = [
  { values: "y", name: "each_name", width: 1, alpha: 0.35 },
  { values: "average", name: "average_name", width: 2.5, alpha: 1 },
];

function pen(ctx, line) {
  ctx.globalAlpha = line.alpha;
  ctx.strokeStyle = COLOR;
  ctx.lineWidth = line.width;
  ctx.beginPath();
}

export default function (component) {
  const { data, parentElement } = component;
  const canvas = parentElement.querySelector("canvas");
  let state = canvas.liveCurve;
  if (!state) {
    state = canvas.liveCurve = { zoom: null, hover: null, drag: null };
    listen(canvas, state);
  }
  state.data = data;
  draw(canvas, state);
}

// Drag across the chart to zoom into those batches, double-click to zoom out, hover
// to read a batch's values.
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

// About `count` round tick values (1, 2 or 5 times a power of ten) from lo to hi.
function ticks(lo, hi, count) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  }
  return out;
}

function label(value, percent) {
  if (value === null) return "not a number"; // a NaN or infinite loss
  if (percent) return `${(value * 100).toFixed(value < 0.1 ? 1 : 0)}%`;
  return Math.abs(value) >= 1000 ? value.toLocaleString() : String(+value.toPrecision(3));
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
  ctx.fillText(data.title, PAD.left, 16);

  const xs = data.x;
  const n = xs.length;
  // The visible batches: all of them, or the zoomed range.
  const [x0, x1] = state.zoom || [xs[0], xs[n - 1]];
  const zoomed = state.zoom
    ? ` Zoomed to batches ${Math.round(x0)} to ${Math.round(x1)}; double-click to zoom out.`
    : "";
  canvas.setAttribute("aria-label", data.summary + zoomed);
  if (!n) return;
  const first = state.zoom ? before(xs, x0) : 0;
  const last = state.zoom ? before(xs, x1) : n - 1;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const series of [data.y, data.average]) {
    for (let i = first; i <= last; i++) {
      if (series[i] === null) continue; // a NaN or infinite loss: a gap in the line
      if (series[i] < y0) y0 = series[i];
      if (series[i] > y1) y1 = series[i];
    }
  }
  if (y0 === Infinity) {
    y0 = 0;
    y1 = 1;
  } else if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const width = cssWidth - PAD.left - PAD.right;
  const height = cssHeight - PAD.top - PAD.bottom;
  state.frame = { x0, x1: x1 > x0 ? x1 : x0 + 1, width };
  const px = (x) => PAD.left + ((x - x0) / (state.frame.x1 - x0)) * width;
  const py = (y) => PAD.top + (1 - (y - y0) / (y1 - y0)) * height;

  // Grid and tick labels.
  ctx.strokeStyle = "rgba(151, 166, 195, 0.3)";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of ticks(y0, y1, 4)) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, py(t));
    ctx.lineTo(PAD.left + width, py(t));
    ctx.stroke();
    ctx.fillText(label(t, data.percent), PAD.left - 6, py(t));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks(x0, state.frame.x1, 8)) {
    ctx.fillText(label(t, false), px(t), PAD.top + height + 6);
  }
  ctx.fillText(data.x_title, PAD.left + width / 2, PAD.top + height + 24);
  ctx.save();
  ctx.translate(14, PAD.top + height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(data.y_title, 0, -6);
  ctx.restore();

  // The two curves, clipped to the plot area.
  ctx.save();
  ctx.beginPath();
  ctx.rect(PAD.left, PAD.top, width, height);
  ctx.clip();
  // One point either side of the visible range, so the lines reach the edges.
  const from = Math.max(first - 1, 0);
  const to = Math.min(last + 1, n - 1);
  for (const line of LINES) {
    const series = data[line.values];
    pen(ctx, line);
    let drawing = false;
    for (let i = from; i <= to; i++) {
      if (series[i] === null) {
        drawing = false;
      } else if (drawing) {
        ctx.lineTo(px(xs[i]), py(series[i]));
      } else {
        ctx.moveTo(px(xs[i]), py(series[i]));
        drawing = true;
      }
    }
    ctx.stroke();
  }
  ctx.restore();
  ctx.globalAlpha = 1;

  // Legend, top right.
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  // Right-aligned, but never over the title on a narrow screen.
  let lx = Math.max(PAD.left + width - 330, PAD.left + ctx.measureText(data.title).width + 24);
  for (const line of LINES) {
    pen(ctx, line);
    ctx.moveTo(lx, 16);
    ctx.lineTo(lx + 18, 16);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillText(data[line.name], lx + 22, 16);
    lx += 165;
  }

  // The zoom being dragged, and the batch under the pointer.
  if (state.drag) {
    ctx.fillStyle = "rgba(151, 166, 195, 0.25)";
    const left = Math.min(state.drag.from, state.drag.to);
    ctx.fillRect(left, PAD.top, Math.abs(state.drag.to - state.drag.from), height);
  } else if (state.hover !== null) {
    const i = before(xs, state.hover);
    const x = px(xs[i]);
    ctx.strokeStyle = ink;
    ctx.globalAlpha = 0.5;
    ctx.beginPath();
    ctx.moveTo(x, PAD.top);
    ctx.lineTo(x, PAD.top + height);
    ctx.stroke();
    ctx.globalAlpha = 1;
    const text =
      `batch ${xs[i].toLocaleString()}: ${label(data.y[i], data.percent)}, ` +
      `average ${label(data.average[i], data.percent)}`;
    const boxWidth = ctx.measureText(text).width + 12;
    const bx = Math.min(x + 8, PAD.left + width - boxWidth);
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
