// The labelling page: one item at a time, signed with the session key, the next item shown
// without a page reload. One renderer per task type; every one works with the keyboard.
"use strict";

(function () {
  const DF = window.Datafair;
  const root = document.getElementById("labeller");
  if (!root) return;
  const task = JSON.parse(document.getElementById("df-task").textContent);
  const stage = document.getElementById("stage");
  const status = document.getElementById("status");
  const counter = document.getElementById("done-count");
  let current = null; // {item, started, collect, session}
  let session = null;
  let busy = false;
  let done = 0;

  function say(text) {
    status.textContent = text;
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  // ---------------------------------------------------------------- categorical: one class

  function choiceButtons(values, labels, keys, onPick) {
    const group = el("div", { class: "choices", role: "group", "aria-label": "answers" });
    values.forEach((value, index) => {
      const key = keys[index];
      group.append(
        el("button", {
          type: "button",
          class: "choice",
          "data-value": value,
          "aria-keyshortcuts": key,
          text: `${key} · ${labels[index]}`,
          onclick: () => onPick(value),
        })
      );
    });
    return group;
  }

  function renderClassification(item) {
    stage.append(contentOf(item));
    let picked = null;
    const keys = task.classes.map((_, i) => String(i + 1));
    const group = choiceButtons(task.classes, task.classes, keys, (value) => {
      picked = value;
      submit(value);
    });
    stage.append(group);
    return {
      keys(event) {
        const index = keys.indexOf(event.key);
        if (index >= 0) {
          picked = task.classes[index];
          for (const b of group.children) b.classList.toggle("picked", b.dataset.value === picked);
          return true;
        }
        if (event.key === "Enter" && picked !== null) {
          submit(picked);
          return true;
        }
        return false;
      },
    };
  }

  function renderMultilabel(item) {
    stage.append(contentOf(item));
    const chosen = new Set();
    const group = el("fieldset", { class: "choices" }, el("legend", { text: "Every class that applies" }));
    task.classes.forEach((name, index) => {
      const id = `class-${index}`;
      const box = el("input", { type: "checkbox", id, value: name });
      box.addEventListener("change", () => (box.checked ? chosen.add(name) : chosen.delete(name)));
      group.append(el("label", { for: id, class: "choice" }, box, ` ${index + 1} · ${name}`));
    });
    stage.append(group, el("button", { type: "submit", class: "primary", text: "Submit (Enter)", onclick: send }));
    function send() {
      submit(task.classes.filter((name) => chosen.has(name)));
    }
    return {
      keys(event) {
        const index = Number(event.key) - 1;
        if (index >= 0 && index < task.classes.length && index < 9) {
          const box = group.querySelector(`#class-${index}`);
          box.checked = !box.checked;
          box.dispatchEvent(new Event("change"));
          return true;
        }
        if (event.key === "Enter") {
          send();
          return true;
        }
        return false;
      },
    };
  }

  function renderPreference(item) {
    let pair = item.meta && item.meta.prompt !== undefined ? item.meta : null;
    if (!pair) {
      try {
        pair = JSON.parse(item.text);
      } catch (_) {
        pair = { prompt: item.text || "", a: "", b: "" };
      }
    }
    stage.append(
      el("section", { class: "prompt" }, el("h2", { text: "Prompt" }), el("p", { text: pair.prompt })),
      el(
        "div",
        { class: "pair" },
        el("section", { class: "response" }, el("h3", { text: "A" }), el("p", { text: pair.a })),
        el("section", { class: "response" }, el("h3", { text: "B" }), el("p", { text: pair.b }))
      ),
      choiceButtons(["a", "b"], ["A is better", "B is better"], ["A", "B"], submit)
    );
    return {
      keys(event) {
        const key = event.key.toLowerCase();
        if (key === "a" || key === "b") {
          submit(key);
          return true;
        }
        return false;
      },
    };
  }

  // ---------------------------------------------------------------- transcription

  function renderTranscription(item) {
    const area = el("textarea", { id: "transcript", rows: "4", "aria-label": "Transcription" });
    const error = el("p", { class: "field-error", "data-error-for": "answer", hidden: "" });
    stage.append(
      el("div", { class: "side-by-side" }, contentOf(item), el("div", {}, el("label", { for: "transcript", text: "What the item says" }), area, error)),
      el("button", { type: "button", class: "primary", text: "Submit (Ctrl+Enter)", onclick: () => submit(area.value) })
    );
    area.focus();
    return {
      keys(event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          submit(area.value);
          return true;
        }
        return false;
      },
      typing: true,
    };
  }

  // ---------------------------------------------------------------- entity spans

  function renderSpans(item) {
    const text = item.text || "";
    const points = Array.from(text); // offsets are Unicode code points, as the server counts
    const spans = [];
    const view = el("p", { class: "span-text", id: "span-text", tabindex: "0", "aria-label": "Text to annotate" });
    const list = el("ul", { class: "span-list", "aria-live": "polite" });
    const label = el("select", { id: "span-label", "aria-label": "Entity" });
    task.classes.forEach((name) => label.append(el("option", { value: name, text: name })));
    const start = el("input", { id: "span-start", type: "number", min: "0", max: String(points.length), "aria-label": "Start offset" });
    const end = el("input", { id: "span-end", type: "number", min: "1", max: String(points.length), "aria-label": "End offset" });
    const error = el("p", { class: "field-error", "data-error-for": "answer", hidden: "" });

    function codePointOffset(node, offset) {
      // DOM offsets count UTF-16 units inside one text node of the view; convert to code points
      let units = 0;
      for (const child of view.childNodes) {
        const length = child.textContent.length;
        if (child === node || child.contains(node)) {
          units += offset;
          break;
        }
        units += length;
      }
      return Array.from(text.slice(0, units)).length;
    }

    function draw() {
      view.textContent = "";
      let at = 0;
      for (const span of [...spans].sort((a, b) => a.start - b.start)) {
        view.append(points.slice(at, span.start).join(""));
        view.append(el("mark", { "data-label": span.label, title: span.label }, points.slice(span.start, span.end).join("")));
        at = span.end;
      }
      view.append(points.slice(at).join(""));
      list.textContent = "";
      spans.forEach((span, index) => {
        list.append(
          el(
            "li",
            {},
            `${span.label}: “${points.slice(span.start, span.end).join("")}” (${span.start}–${span.end}) `,
            el("button", { type: "button", text: "remove", onclick: () => { spans.splice(index, 1); draw(); } })
          )
        );
      });
    }

    function add(from, to) {
      error.hidden = true;
      if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from < to && to <= points.length)) {
        error.textContent = `answer: span ${from}..${to} is out of range (need 0 <= start < end <= ${points.length})`;
        error.hidden = false;
        return;
      }
      const clash = spans.find((s) => from < s.end && s.start < to);
      if (clash) {
        error.textContent = `answer: spans ${clash.start}..${clash.end} and ${from}..${to} overlap (spans must not overlap)`;
        error.hidden = false;
        return;
      }
      spans.push({ start: from, end: to, label: label.value });
      draw();
    }

    view.addEventListener("mouseup", () => {
      const selection = window.getSelection();
      if (!selection || selection.isCollapsed || !view.contains(selection.anchorNode)) return;
      const range = selection.getRangeAt(0);
      const from = codePointOffset(range.startContainer, range.startOffset);
      const to = codePointOffset(range.endContainer, range.endOffset);
      selection.removeAllRanges();
      add(Math.min(from, to), Math.max(from, to));
    });

    draw();
    stage.append(
      view,
      el(
        "div",
        { class: "span-tools" },
        el("label", { for: "span-label", text: "Entity " }),
        label,
        el("label", { for: "span-start", text: " from " }),
        start,
        el("label", { for: "span-end", text: " to " }),
        end,
        el("button", { type: "button", text: "Add span", onclick: () => add(Number(start.value), Number(end.value)) })
      ),
      error,
      list,
      el("button", { type: "button", class: "primary", text: "Submit (Ctrl+Enter)", onclick: () => submit(spans) })
    );
    return {
      keys(event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          submit(spans);
          return true;
        }
        return false;
      },
      typing: true,
    };
  }

  // ---------------------------------------------------------------- bounding boxes

  function renderBoxes(item) {
    const boxes = [];
    let selected = -1;
    const image = el("img", { src: item.image_url, alt: "Image to annotate", draggable: "false" });
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "box-layer");
    const frame = el("div", { class: "box-frame" }, image, svg);
    const label = el("select", { id: "box-label", "aria-label": "Class of the selected box" });
    task.classes.forEach((name) => label.append(el("option", { value: name, text: name })));
    const list = el("ul", { class: "box-list", "aria-live": "polite" });
    const error = el("p", { class: "field-error", "data-error-for": "answer", hidden: "" });
    const fields = ["x", "y", "w", "h"].map((name) =>
      el("input", { id: `box-${name}`, type: "number", step: "0.01", min: "0", "aria-label": `Box ${name}` })
    );

    const natural = () => ({ w: image.naturalWidth, h: image.naturalHeight });
    const scale = () => image.clientWidth / (image.naturalWidth || 1);
    const round = (v) => Math.round(v * 100) / 100;

    function toImage(event) {
      const rect = image.getBoundingClientRect();
      const s = scale();
      const size = natural();
      return {
        x: Math.min(Math.max((event.clientX - rect.left) / s, 0), size.w),
        y: Math.min(Math.max((event.clientY - rect.top) / s, 0), size.h),
      };
    }

    function draw() {
      const s = scale();
      svg.setAttribute("width", image.clientWidth);
      svg.setAttribute("height", image.clientHeight);
      svg.textContent = "";
      boxes.forEach((box, index) => {
        const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
        rect.setAttribute("x", box.x * s);
        rect.setAttribute("y", box.y * s);
        rect.setAttribute("width", box.w * s);
        rect.setAttribute("height", box.h * s);
        rect.setAttribute("class", index === selected ? "box selected" : "box");
        rect.dataset.index = index;
        svg.append(rect);
        if (index === selected) {
          const handle = document.createElementNS("http://www.w3.org/2000/svg", "rect");
          handle.setAttribute("x", (box.x + box.w) * s - 5);
          handle.setAttribute("y", (box.y + box.h) * s - 5);
          handle.setAttribute("width", 10);
          handle.setAttribute("height", 10);
          handle.setAttribute("class", "handle");
          handle.dataset.handle = index;
          svg.append(handle);
        }
      });
      list.textContent = "";
      boxes.forEach((box, index) => {
        list.append(
          el(
            "li",
            { class: index === selected ? "selected" : "" },
            el("button", { type: "button", text: `${box.label} (${box.x}, ${box.y}, ${box.w}×${box.h})`, onclick: () => select(index) }),
            " ",
            el("button", { type: "button", text: "delete", onclick: () => remove(index) })
          )
        );
      });
      const box = boxes[selected];
      fields.forEach((field, i) => (field.value = box ? box[["x", "y", "w", "h"][i]] : ""));
    }

    function select(index) {
      selected = index;
      if (boxes[index]) label.value = boxes[index].label;
      draw();
    }

    function remove(index) {
      boxes.splice(index, 1);
      selected = -1;
      draw();
    }

    function clampBox(box) {
      const size = natural();
      box.w = round(Math.min(Math.max(box.w, 1), size.w));
      box.h = round(Math.min(Math.max(box.h, 1), size.h));
      box.x = round(Math.min(Math.max(box.x, 0), size.w - box.w));
      box.y = round(Math.min(Math.max(box.y, 0), size.h - box.h));
      return box;
    }

    let drag = null;
    svg.addEventListener("pointerdown", (event) => {
      const point = toImage(event);
      const handle = event.target.dataset && event.target.dataset.handle;
      const hit = event.target.dataset && event.target.dataset.index;
      if (handle !== undefined) {
        drag = { mode: "resize", index: Number(handle) };
      } else if (hit !== undefined) {
        select(Number(hit));
        const box = boxes[selected];
        drag = { mode: "move", index: selected, dx: point.x - box.x, dy: point.y - box.y };
      } else {
        drag = { mode: "draw", origin: point, index: -1 };
      }
      svg.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const point = toImage(event);
      if (drag.mode === "draw") {
        const box = {
          x: round(Math.min(point.x, drag.origin.x)),
          y: round(Math.min(point.y, drag.origin.y)),
          w: round(Math.abs(point.x - drag.origin.x)),
          h: round(Math.abs(point.y - drag.origin.y)),
          label: label.value,
        };
        if (box.w < 2 || box.h < 2) return;
        if (drag.index < 0) {
          boxes.push(box);
          drag.index = boxes.length - 1;
        } else {
          boxes[drag.index] = box;
        }
        selected = drag.index;
      } else if (drag.mode === "move") {
        const box = boxes[drag.index];
        box.x = point.x - drag.dx;
        box.y = point.y - drag.dy;
        clampBox(box);
      } else {
        const box = boxes[drag.index];
        box.w = point.x - box.x;
        box.h = point.y - box.y;
        clampBox(box);
      }
      draw();
    });
    svg.addEventListener("pointerup", () => (drag = null));
    label.addEventListener("change", () => {
      if (boxes[selected]) {
        boxes[selected].label = label.value;
        draw();
      }
    });
    function fromFields() {
      const values = fields.map((field) => Number(field.value));
      const box = { x: values[0], y: values[1], w: values[2], h: values[3], label: label.value };
      const size = natural();
      error.hidden = true;
      if (!(box.w > 0 && box.h > 0 && box.x >= 0 && box.y >= 0 && box.x + box.w <= size.w && box.y + box.h <= size.h)) {
        error.textContent = `answer: box (${box.x}, ${box.y}, ${box.w}, ${box.h}) is outside the ${size.w}x${size.h} image (need 0 <= x, 0 <= y, x + w <= width, y + h <= height)`;
        error.hidden = false;
        return;
      }
      if (selected >= 0) boxes[selected] = box;
      else {
        boxes.push(box);
        selected = boxes.length - 1;
      }
      draw();
    }
    image.addEventListener("load", draw);
    window.addEventListener("resize", draw);

    stage.append(
      frame,
      el(
        "div",
        { class: "box-tools" },
        el("label", { for: "box-label", text: "Class " }),
        label,
        ...fields.flatMap((field, i) => [el("label", { for: field.id, text: ` ${["x", "y", "w", "h"][i]} ` }), field]),
        el("button", { type: "button", text: "Set box", onclick: fromFields }),
        el("button", { type: "button", text: "New box", onclick: () => select(-1) })
      ),
      error,
      list,
      el("button", { type: "button", class: "primary", text: "Submit (Ctrl+Enter)", onclick: () => submit(boxes.map((b) => ({ ...b }))) })
    );
    return {
      keys(event) {
        if ((event.key === "Delete" || event.key === "Backspace") && selected >= 0 && !event.target.matches("input, select, textarea")) {
          remove(selected);
          return true;
        }
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          submit(boxes.map((b) => ({ ...b })));
          return true;
        }
        return false;
      },
      typing: true,
      boxes,
    };
  }

  // ---------------------------------------------------------------- the item itself

  function contentOf(item) {
    if (item.image_url) {
      const image = el("img", { src: item.image_url, alt: "Item to label", class: "item-image zoomable", tabindex: "0" });
      image.addEventListener("click", () => image.classList.toggle("zoomed"));
      image.addEventListener("keydown", (event) => {
        if (event.key === "z") image.classList.toggle("zoomed");
      });
      return image;
    }
    return el("blockquote", { class: "item-text", text: item.text || "" });
  }

  const RENDERERS = {
    classification: renderClassification,
    multilabel: renderMultilabel,
    spans: renderSpans,
    boxes: renderBoxes,
    transcription: renderTranscription,
    preference: renderPreference,
  };

  // ---------------------------------------------------------------- the loop

  async function next() {
    stage.textContent = "";
    say("Loading the next item…");
    const item = await DF.api("POST", `/tasks/${task.task_id}/next`);
    if (item === null) {
      current = null;
      say("Nothing left for you in this task. Thank you!");
      root.dataset.state = "empty";
      return;
    }
    const renderer = RENDERERS[task.task_type];
    current = { item, started: performance.now(), controls: null };
    current.controls = renderer(item);
    root.dataset.state = "ready";
    root.dataset.item = item.item_cid;
    say(`Item ${item.item_cid.slice(0, 14)}… held for you.`);
  }

  async function submit(answer) {
    if (busy || !current) return;
    busy = true;
    DF.clearErrors();
    const item = current.item;
    const duration = Math.min(Math.round(performance.now() - current.started), 2 ** 32 - 1);
    try {
      const prepared = await DF.api("POST", `/tasks/${task.task_id}/sign-request`, {
        item_cid: item.item_cid,
        answer,
        nonce: item.nonce,
        duration_ms: duration,
      });
      const signature = await DF.signTyped(session.wallet, prepared.typed_data);
      await DF.api("POST", `/tasks/${task.task_id}/submissions`, {
        item_cid: item.item_cid,
        answer: prepared.answer,
        contributor: DF.address,
        nonce: item.nonce,
        duration_ms: duration,
        signature,
        answer_hash: prepared.answer_hash,
      });
      DF.noteSessionKeyUse(session.record);
      done += 1;
      counter.textContent = String(done);
      await next();
    } catch (error) {
      if (error.status === 403 || /delegation|session key/.test(error.message || "")) {
        DF.forgetSessionKey();
      }
      DF.showError(error);
    } finally {
      busy = false;
    }
  }

  async function skip() {
    if (!current) return;
    try {
      await DF.api("POST", `/tasks/${task.task_id}/assignments/${current.item.assignment_id}/skip`);
      await next();
    } catch (error) {
      DF.showError(error);
    }
  }

  document.getElementById("skip").addEventListener("click", skip);
  document.addEventListener("keydown", (event) => {
    if (!current || busy) return;
    const typing = event.target.matches("input, textarea, select") && !(event.key === "Enter" && (event.ctrlKey || event.metaKey));
    if (typing) return;
    if (event.key === "s" && !current.controls.typing) {
      skip();
      event.preventDefault();
      return;
    }
    if (current.controls.keys(event)) event.preventDefault();
  });

  DF.labeller = { submit, skip, next, current: () => current };

  (async function start() {
    if (!DF.address) {
      say("Sign in with your wallet to label.");
      return;
    }
    try {
      say("Authorising a session key (one signature in your wallet)…");
      session = await DF.sessionKey(task.task_id);
      await next();
    } catch (error) {
      DF.showError(error);
    }
  })();
})();
