/* minigraph's step player.

   minigraphPlayer(root, data, options) builds the player inside the element `root` from
   `data`, the output of minigraph.show.player.player_data: a graph already laid out by
   Graphviz (boxes, edges and clusters in points), when each text row changes and to
   what, the frames of both passes and the runs of frames a scope steps through as one.
   The SVG is built once; a step changes only text and classes, so nothing moves.
   options.keys: the element that listens for keys (default: root; the page: document).
   It returns {show, showFrame, openScope, setZoom}; the element's data-step, data-frame,
   data-phase and data-active-node attributes say what is shown.

   Keys: right/left arrow one step, Home/End, down arrow opens a scope's steps and up
   arrow closes them, + and - zoom, 0 is natural size. Ctrl+wheel zooms too; drag or
   scroll to pan. Every text goes in with textContent: names never become markup. */
"use strict";

function minigraphPlayer(root, data, options) {
  const SVG = "http://www.w3.org/2000/svg";
  const ROUNDED = new Set(["op", "parameter", "ghost"]);
  const HINT = "The forward pass computes each node from its inputs; the backward pass sends " +
    "each gradient back through the op's local derivative (the chain rule), and each edge shows " +
    "the gradient it carries. Next/Previous, the arrow keys or the slider move one step. A scope " +
    "steps as a whole: \u2193 or Open steps through its nodes, \u2191 closes it. Drag or scroll " +
    "to pan; +/\u2212, ctrl+wheel or the buttons zoom.";
  const keyTarget = (options && options.keys) || root;

  function element(tag, parent, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  function button(parent, className, text, label) {
    const node = element("button", parent, className, text);
    node.type = "button";
    if (label) node.setAttribute("aria-label", label);
    return node;
  }
  function drawn(tag, parent, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const name of Object.keys(attributes)) node.setAttribute(name, attributes[name]);
    parent.appendChild(node);
    return node;
  }
  function lines(parent, positions, className) {  // [x, y] centred, [x, y, "start"] from x
    return positions.map(([x, y, anchor]) =>
      drawn("text", parent, { x: x, y: y, class: anchor ? className + " " + anchor : className }));
  }
  function slot(parent, place, href) {  // a picture in the place Graphviz left for it
    if (!place) return null;
    const [x, y, width, height] = place;
    const image = drawn("image", parent, { x: x, y: y, width: width, height: height, preserveAspectRatio: "none" });
    if (href) image.setAttribute("href", href);
    return image;
  }
  function fill(texts, text) {  // one line of `text` per text element; "" where it has fewer
    const parts = text === null || text === undefined ? [] : String(text).split("\n");
    texts.forEach((node, i) => {
      const line = i < parts.length ? parts[i] : "";
      if (node.textContent !== line) node.textContent = line;
    });
  }
  function entryAt(timeline, frame) {  // the last [frame, text, ...] whose frame has come
    let found = null;
    for (const entry of timeline) {
      if (entry[0] > frame) break;
      found = entry;
    }
    return found;
  }
  function textAt(timeline, frame) {
    const entry = entryAt(timeline, frame);
    return entry === null ? null : entry[1];
  }

  root.classList.add("minigraph-player");
  if (!root.hasAttribute("tabindex")) root.tabIndex = -1;
  element("h1", root, "title", data.title);
  element("p", root, "hint", HINT + (data.note ? " " + data.note : ""));
  const controls = element("div", root, "controls");
  const previousButton = button(controls, "previous", "\u25c0 Previous");
  const nextButton = button(controls, "next", "Next \u25b6");
  const openButton = button(controls, "open", "Open scope");
  const slider = element("input", controls, "slider");
  slider.type = "range";
  slider.min = "0";
  slider.setAttribute("aria-label", "step");
  const counter = element("span", controls, "counter");
  const phase = element("span", controls, "phase");
  const zooms = element("span", controls, "zoom");  // one group: its buttons wrap together
  const zoomOut = button(zooms, "zoom-out", "\u2212", "zoom out");
  const zoomReset = button(zooms, "zoom-reset", "100%", "natural size");
  const zoomIn = button(zooms, "zoom-in", "+", "zoom in");
  const picture = element("div", root, "picture");
  const explanation = element("pre", root, "explanation");

  // The drawing, once, at Graphviz's natural size (data.scale CSS pixels to the point).
  const scale = data.scale || 1;
  const svg = drawn("svg", picture, {
    viewBox: "0 0 " + data.width + " " + data.height, width: data.width * scale, height: data.height * scale,
    role: "img", "aria-label": "the graph",
  });
  // A laid-out drawing (the graph, or a scope's inside) into `parent`: its parts by data-id
  // in `marks`, and the boxes and edges whose text changes from step to step.
  function drawLayout(parent, layout, marks) {
    for (const cluster of layout.clusters) {
      const group = drawn("g", parent, { class: "cluster", "data-id": cluster.id });
      drawn("rect", group, { x: cluster.x, y: cluster.y, width: cluster.w, height: cluster.h, rx: 6 });
      fill(lines(group, cluster.rows[0], "label"), cluster.label);
      marks.set(cluster.id, group);
    }
    const edges = layout.edges.map((edge) => {
      const group = drawn("g", parent, { class: "edge", "data-id": edge.id });
      drawn("path", group, { d: edge.d });
      if (edge.arrow) drawn("polygon", group, { points: edge.arrow });
      fill(lines(group, edge.rows[0], "shape"), edge.label);
      marks.set(edge.id, group);
      return { data: edge, group: group, grad: lines(group, edge.rows[1], "grad") };
    });
    const boxes = layout.boxes.map((box) => {
      const group = drawn("g", parent, { class: "box " + box.kind, "data-id": box.id });
      drawn("rect", group, { x: box.x, y: box.y, width: box.w, height: box.h, rx: ROUNDED.has(box.kind) ? 5 : 0 });
      fill(lines(group, box.rows[0], "title"), box.title);
      fill(lines(group, box.rows[1], "detail"), box.detail);
      marks.set(box.id, group);
      return { data: box, group: group, value: lines(group, box.rows[2], "value"), grad: lines(group, box.rows[3], "grad"),
               valuePicture: slot(group, box.valueSlot, box.valuePicture), gradPicture: slot(group, box.gradSlot, null) };
    });
    return { boxes: boxes, edges: edges, marks: marks };
  }
  // What a drawing's changing rows show at frame `at`.
  function paint(drawing, at) {
    for (const box of drawing.boxes) {
      if (box.value.length) {
        const known = at >= box.data.valueAt;
        fill(box.value, known ? box.data.value : "value ?");
        box.value.forEach((node) => node.classList.toggle("pending", !known));
        if (box.valuePicture) box.valuePicture.setAttribute("visibility", known ? "visible" : "hidden");
      }
      const grad = entryAt(box.data.grads, at);
      if (box.grad.length) fill(box.grad, grad === null ? null : grad[1]);
      if (box.gradPicture) {
        const href = grad === null ? null : grad[2];
        if (href) box.gradPicture.setAttribute("href", href);
        box.gradPicture.setAttribute("visibility", href ? "visible" : "hidden");
      }
    }
    for (const edge of drawing.edges) {
      const text = textAt(edge.data.grads, at);
      fill(edge.grad, text);
      edge.group.classList.toggle("carrying", text !== null);
    }
  }
  const main = drawLayout(svg, data, new Map());
  const marks = main.marks;  // data-id -> element that can be marked active
  const boxById = new Map(main.boxes.map((box) => [box.data.id, box]));

  // The explanation: its text, with the picture of each array too big to print (and its
  // range) where the text refers to one of data.pictures.
  function explain(text) {
    explanation.textContent = "";
    String(text).split(/\ue000(\d+)\ue001/).forEach((part, i) => {
      if (i % 2 === 0) {
        if (part) explanation.appendChild(document.createTextNode(part));
        return;
      }
      const item = (data.pictures || [])[Number(part)];
      if (!item) return;
      const figure = element("span", explanation, "array");
      const image = element("img", figure);
      image.src = item.src;
      image.alt = "an array too big to print, drawn " + item.range;
      element("span", figure, "range", item.range + (item.omitted ? "; " + item.omitted : ""));
    });
  }

  // The elements a frame's worked element reads (a conv's window, its output pixel), marked
  // on the pictures that draw them: [box id, "value" or "grad", [left, top, width, height]]
  // each, as fractions of the picture.
  let windows = [];
  function markWindows(frame) {
    for (const node of windows) node.remove();
    windows = [];
    for (const [id, row, [left, top, width, height]] of frame.windows || []) {
      const box = boxById.get(id);
      const image = box && (row === "value" ? box.valuePicture : box.gradPicture);
      if (!image || image.getAttribute("visibility") === "hidden") continue;
      const x = Number(image.getAttribute("x")), y = Number(image.getAttribute("y"));
      const w = Number(image.getAttribute("width")), h = Number(image.getAttribute("height"));
      const place = { x: x + left * w, y: y + top * h, width: width * w, height: height * h };
      windows.push(drawn("rect", box.group, Object.assign({ class: "window-edge" }, place)));
      windows.push(drawn("rect", box.group, Object.assign({ class: "window", "data-row": row }, place)));
    }
  }

  // A scope drawn as one box opens in its place: its inside, drawn over it (and over its
  // neighbours where it is bigger), the picture grown to hold it if need be.
  const insides = new Map();  // number in data.insides -> {group, drawing}
  let shownInside = null;
  function inside(number, run) {
    if (!insides.has(number)) {
      const layout = data.insides[number], box = marks.get(run.mark).querySelector("rect");
      const x = Math.max(0, Math.min(Number(box.getAttribute("x")), data.width - layout.width));
      const y = Math.max(0, Number(box.getAttribute("y")));
      const group = drawn("g", svg, { class: "inside", transform: "translate(" + x + "," + y + ")" });
      drawn("rect", group, { class: "backdrop", x: 0, y: 0, width: layout.width, height: layout.height, rx: 6 });
      insides.set(number, { group: group, drawing: drawLayout(group, layout, new Map()),
                            width: x + layout.width, height: y + layout.height });
    }
    return insides.get(number);
  }
  function showInside(opened) {  // the SVG's size set only when it changes: setting it lays all out again
    if (opened === shownInside) return;
    if (shownInside !== null) shownInside.group.setAttribute("display", "none");
    if (opened) opened.group.removeAttribute("display");
    shownInside = opened;
    const width = opened ? Math.max(data.width, opened.width) : data.width;
    const height = opened ? Math.max(data.height, opened.height) : data.height;
    if (width === extent.width && height === extent.height) return;
    extent = { width: width, height: height };
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("width", String(width * scale * zoom));
    svg.setAttribute("height", String(height * scale * zoom));
  }

  // Steps: a frame, or a whole run of frames while its scope is closed.
  const opened = new Set();
  let steps = [];
  let current = 0;
  let marked = [];
  function listSteps() {
    steps = [];
    for (let i = 0; i < data.frames.length; i++) {
      const run = data.frames[i].run;
      if (run >= 0 && !opened.has(run)) {
        steps.push({ frame: data.runs[run].end, run: run, whole: true });
        i = data.runs[run].end;
      } else {
        steps.push({ frame: i, run: run, whole: false });
      }
    }
    slider.max = String(steps.length - 1);
  }

  function show(index) {
    current = Math.max(0, Math.min(steps.length - 1, index));
    const step = steps[current];
    const frame = data.frames[step.frame];
    const run = step.run >= 0 ? data.runs[step.run] : null;
    paint(main, step.frame);
    const open = run !== null && !step.whole && run.inside !== undefined ? inside(run.inside, run) : null;
    showInside(open);
    if (open) paint(open.drawing, step.frame);
    for (const node of marked) node.classList.remove("active");
    const ids = step.whole ? [run.mark] : [frame.box].concat(frame.edges);
    marked = ids.map((id) => marks.get(id)).filter((node) => node !== undefined);
    if (open) {  // the node at work inside the opened scope, marked first so that it is revealed
      const at = run.steps[step.frame - run.start];
      marked = [at.box].concat(at.edges).map((id) => open.drawing.marks.get(id))
        .filter((node) => node !== undefined).concat(marked);
    }
    for (const node of marked) node.classList.add("active");

    markWindows(step.whole || open ? {} : frame);
    explain(step.whole ? run.text : frame.text);
    counter.textContent = "Step " + (current + 1) + " of " + steps.length;
    phase.textContent = frame.phase;
    phase.className = "phase " + frame.phase;
    root.classList.toggle("forward", frame.phase === "forward");
    root.classList.toggle("backward", frame.phase === "backward");
    slider.value = String(current);
    previousButton.disabled = current === 0;
    nextButton.disabled = current === steps.length - 1;
    openButton.disabled = run === null;
    openButton.textContent = run === null ? "Open scope" :
      step.whole ? "Open " + run.scope + " (" + (run.end - run.start + 1) + " steps)" : "Close " + run.scope;
    root.dataset.step = String(current);
    root.dataset.frame = String(step.frame);
    root.dataset.phase = frame.phase;
    root.dataset.activeNode = step.whole ? run.mark : frame.box;
    if (marked.length) reveal(marked[0], windows);
  }

  // The step that shows frame `index` of data.frames, its scope opened if the frame lies
  // inside (a host such as the notebook widget counts in frames: they never fold).
  function showFrame(index) {
    const frame = Math.max(0, Math.min(data.frames.length - 1, index));
    const run = data.frames[frame].run;
    if (run >= 0 && !opened.has(run) && frame !== data.runs[run].end) {
      opened.add(run);
      listSteps();
    }
    show(steps.findIndex((step) => step.frame >= frame));
  }

  function openScope(wanted) {
    const step = steps[current];
    if (step.run < 0 || opened.has(step.run) === wanted) return;
    if (wanted) opened.add(step.run); else opened.delete(step.run);
    listSteps();
    show(steps.findIndex((s) => s.run === step.run));
  }

  // Zoom (the SVG's size; the layout is untouched) and pan (the picture's scroll).
  let zoom = 1;
  let extent = { width: data.width, height: data.height };  // the drawing, a scope's inside included
  function setZoom(value, clientX, clientY) {
    const view = picture.getBoundingClientRect();
    const x = clientX === undefined ? view.width / 2 : clientX - view.left;
    const y = clientY === undefined ? view.height / 2 : clientY - view.top;
    const left = (picture.scrollLeft + x) / zoom, top = (picture.scrollTop + y) / zoom;
    zoom = Math.min(4, Math.max(0.1, value));
    svg.setAttribute("width", String(extent.width * scale * zoom));
    svg.setAttribute("height", String(extent.height * scale * zoom));
    picture.scrollLeft = left * zoom - x;
    picture.scrollTop = top * zoom - y;
    zoomReset.textContent = Math.round(zoom * 100) + "%";
    root.dataset.zoom = String(zoom);
  }
  // Scroll the active box or scope into view, if it is not: centred, or, if bigger than
  // the view, its top left corner at the view's. With `also` (the marks of a conv's window,
  // on its inputs' pictures), the smallest rectangle holding them and the box if it fits the
  // view, else the one holding the marks alone, if that fits: the window, the kernel and
  // the output pixel seen together.
  function reveal(node, also) {
    const view = picture.getBoundingClientRect();
    const inner = { width: picture.clientWidth, height: picture.clientHeight };
    const fits = (r) => r.width <= inner.width && r.height <= inner.height;
    let box = node.getBoundingClientRect();
    if (also && also.length) {
      const marks = union(also.map((mark) => mark.getBoundingClientRect()));
      const both = union([box, marks]);
      if (fits(both)) box = both; else if (fits(marks)) box = marks;
    }
    if (box.left < view.left || box.left + Math.min(box.width, inner.width) > view.left + inner.width) {
      picture.scrollLeft += box.width > inner.width ? box.left - view.left
        : (box.left + box.right) / 2 - (view.left + inner.width / 2);
    }
    if (box.top < view.top || box.top + Math.min(box.height, inner.height) > view.top + inner.height) {
      picture.scrollTop += box.height > inner.height ? box.top - view.top
        : (box.top + box.bottom) / 2 - (view.top + inner.height / 2);
    }
  }
  function union(rects) {
    const left = Math.min(...rects.map((r) => r.left)), top = Math.min(...rects.map((r) => r.top));
    const right = Math.max(...rects.map((r) => r.right)), bottom = Math.max(...rects.map((r) => r.bottom));
    return { left: left, top: top, right: right, bottom: bottom, width: right - left, height: bottom - top };
  }
  let drag = null;
  picture.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, left: picture.scrollLeft, top: picture.scrollTop };
    picture.setPointerCapture(event.pointerId);
    picture.classList.add("dragging");
  });
  picture.addEventListener("pointermove", (event) => {
    if (drag === null) return;
    picture.scrollLeft = drag.left - (event.clientX - drag.x);
    picture.scrollTop = drag.top - (event.clientY - drag.y);
  });
  const endDrag = () => { drag = null; picture.classList.remove("dragging"); };
  picture.addEventListener("pointerup", endDrag);
  picture.addEventListener("pointercancel", endDrag);
  picture.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return;
    event.preventDefault();
    setZoom(zoom * (event.deltaY < 0 ? 1.25 : 0.8), event.clientX, event.clientY);
  }, { passive: false });

  previousButton.addEventListener("click", () => show(current - 1));
  nextButton.addEventListener("click", () => show(current + 1));
  openButton.addEventListener("click", () => openScope(!opened.has(steps[current].run)));
  slider.addEventListener("input", () => show(Number(slider.value)));
  zoomOut.addEventListener("click", () => setZoom(zoom * 0.8));
  zoomReset.addEventListener("click", () => setZoom(1));
  zoomIn.addEventListener("click", () => setZoom(zoom * 1.25));
  const keys = {
    ArrowRight: () => show(current + 1), ArrowLeft: () => show(current - 1),
    Home: () => show(0), End: () => show(steps.length - 1),
    ArrowDown: () => openScope(true), ArrowUp: () => openScope(false),
    "+": () => setZoom(zoom * 1.25), "=": () => setZoom(zoom * 1.25),
    "-": () => setZoom(zoom * 0.8), "0": () => setZoom(1),
  };
  keyTarget.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target === slider && /^(Arrow|Home|End)/.test(event.key)) return;  // the slider's own
    const action = keys[event.key];
    if (action === undefined) return;
    action();
    event.preventDefault();
  });

  listSteps();
  show(0);
  return { show: show, showFrame: showFrame, openScope: openScope, setZoom: setZoom };
}
