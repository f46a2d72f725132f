// gpuwise's page: a form, the API's documents drawn as they are. Every number shown is a
// field of a document the API returned (the command line's --json); the page only converts
// bytes to GiB for display and keeps the exact value in the cell's data-value.
"use strict";

const GIB = 1024 ** 3;
const PARTS = ["weights", "gradients", "optimizer", "activations", "kv_cache", "temporaries", "overhead"];
const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];
const FORM_FIELDS = ["task", "method", "precision", "batch", "seq", "tokens", "grad-checkpointing", "weight-dtype", "engine"];
// the fit map's grid: one plan per cell, asked of the API
const MAP_BATCHES = [1, 2, 4, 8, 16];
const MAP_SEQS = [512, 1024, 2048, 4096, 8192];
const state = { lang: "en", messages: {}, api: null, upload: null, charts: {}, lastPlan: null, catalog: null };

const $ = (id) => document.getElementById(id);

// -- the catalogue: one template language with the command line (docs/i18n.md) -------------
function t(key, params = {}) {
  let template = state.messages[key];
  if (template === undefined) return key;
  if (typeof template === "object") template = params.count === 1 && template.one ? template.one : template.other;
  return template.replace(/\{\{|\}\}|\{(\w+)\}/g, (m, name) => (name === undefined ? m[0] : String(params[name])));
}

// A label's `code` (the catalogue's backticks: what a user types) as <code>, the rest as text.
function showText(el, text) {
  el.replaceChildren(...text.split("`").map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const code = document.createElement("code");
    code.textContent = part;
    return code;
  }));
}

function chosenLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked) return asked.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (const l of langs) {
    if (l.toLowerCase().startsWith("zh")) return "zh-CN";
    if (l.toLowerCase().startsWith("en")) return "en";
  }
  return "en";
}

async function loadMessages(lang) {
  const got = await fetch(`/api/messages?lang=${encodeURIComponent(lang)}`).then((r) => r.json());
  state.lang = got.lang;
  state.messages = got.messages;
  document.documentElement.lang = got.lang;
  $("lang").value = got.lang;
  for (const el of document.querySelectorAll("[data-t]")) showText(el, t(el.dataset.t));
  document.title = t("web.page.title");
}

// -- the API -------------------------------------------------------------------------------
// The request for `command` (path: "plan" or "plan/emit") with `fields` and an upload: a
// config.json's text in a JSON body, a .gguf file's first bytes (its header) as they are.
function ask(command, fields, upload) {
  if (upload && upload.gguf) {
    const query = new URLSearchParams([...fields, ["lang", state.lang], ["gguf_name", upload.name], ["gguf_size", String(upload.size)]]);
    return fetch(`/api/${command}?${query}`, {
      method: "POST", headers: { "content-type": "application/octet-stream" }, body: upload.gguf,
    });
  }
  if (upload) {
    const body = { lang: state.lang, config: upload.text, config_name: upload.name };
    for (const [k, v] of fields) body[k] = k in body ? [].concat(body[k], v) : v;
    return fetch(`/api/${command}`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
  }
  return fetch(`/api/${command}?${new URLSearchParams([...fields, ["lang", state.lang]])}`);
}

async function api(command, fields, upload) {
  const response = await ask(command, fields, upload);
  // a GGUF file: the API says how many of its bytes the header takes; later requests send those
  const header = Number(response.headers.get("x-gguf-header-bytes"));
  if (upload && upload.gguf && header > 0 && header < upload.gguf.byteLength) upload.gguf = upload.gguf.slice(0, header);
  const doc = await response.json();
  if (!response.ok || doc.error) throw new Error(doc.error ? doc.error.message : response.statusText);
  return doc;
}

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = !message;
}

function defaults(command) {
  const params = state.api.paths[`/api/${command}`].get.parameters;
  return Object.fromEntries(params.map((p) => [p.name, p.schema]));
}

function fillChoices(select, schema, current) {
  const label = (v) => (state.messages[`web.page.${select.id}_${v}`] ? t(`web.page.${select.id}_${v}`) : v);
  select.replaceChildren(...schema.enum.map((v) => new Option(label(v), v)));
  select.value = current || schema.default || schema.enum[0];
}

// -- the form's fields, as the API and the command line take them --------------------------
function jobFields() {
  const plan = defaults("plan");
  const fields = [];
  const model = $("model").value.trim();
  if (!state.upload && model) fields.push(["model", model]);
  for (const name of FORM_FIELDS) {
    const el = $(name);
    if (el.type === "checkbox") {
      if (el.checked) fields.push([name, "true"]);
      continue;
    }
    const value = el.value.trim();
    // a field this installation's plan does not take (an engine not landed) is left out
    if (value !== "" && plan[name] && String(plan[name].default) !== value) fields.push([name, value]);
  }
  return fields;
}

function cardFields() {
  return $("gpu").value.split(",").map((s) => s.trim()).filter(Boolean).map((g) => ["gpu", g]);
}

function shellWord(word) {
  return /^[A-Za-z0-9_.,:/@+=%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function cliCommand(command, fields) {
  const words = ["gpuwise", command];
  const model = state.upload ? state.upload.name : (fields.find(([k]) => k === "model") || [])[1];
  if (model) words.push(model);
  for (const [k, v] of fields) {
    if (k === "model") continue;
    words.push(`--${k}`);
    if (v !== "true") words.push(v); // true: the flag alone, as the API takes it
  }
  if (state.lang !== "en") words.push("--lang", "zh");
  return words.map(shellWord).join(" ");
}

function shareUrl(fields) {
  const query = new URLSearchParams(fields);
  if ($("budget").value) query.set("budget", $("budget").value);
  query.set("currency", $("currency").value);
  query.set("lang", state.lang === "zh-CN" ? "zh" : "en");
  return `${location.origin}${location.pathname}?${query}`;
}

// -- plan ----------------------------------------------------------------------------------
async function runPlan() {
  const fields = [...jobFields(), ...cardFields()];
  showError("");
  $("working").hidden = false;
  try {
    const doc = await api("plan", fields, state.upload);
    state.lastPlan = doc;
    drawPlan(doc);
    $("cli-command").textContent = cliCommand("plan", fields);
    runScatter(); // every card for the same job, drawn when it comes
    const url = shareUrl(fields);
    $("share").href = url;
    if (!state.upload) history.replaceState(null, "", url);
  } catch (e) {
    $("plan-out").hidden = true;
    showError(e.message);
  } finally {
    $("working").hidden = true;
  }
}

const gib = (bytes) => (bytes / GIB).toFixed(2);

function cell(text, cls, value) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  if (value !== undefined && value !== null) td.dataset.value = String(value);
  return td;
}

function drawPlan(doc) {
  $("plan-out").hidden = false;
  const model = doc.model;
  $("model-line").dataset.value = String(model.params);
  $("model-line").textContent = t("web.page.model_line", {
    name: model.name, params: model.params.toLocaleString("en"), type: model.model_type,
  });
  const cards = doc.cards;
  const body = $("cards").tBodies[0];
  body.replaceChildren();
  for (const c of cards) {
    const tr = document.createElement("tr");
    tr.dataset.card = c.name;
    const time = c.time || {};
    const speed = time.train_tokens_per_s ?? time.decode_tokens_per_s ?? null;
    const whole = time.time_to_train_s ?? time.time_to_generate_s ?? null;
    tr.append(
      cell(c.name, "text name"),
      cell(c.fits ? t("web.page.yes") : t("web.page.no"), c.fits ? "fit" : "nofit", c.fits),
      cell(gib(c.memory.required_bytes), "required", c.memory.required_bytes),
      cell(gib(c.usable_memory_bytes), "usable", c.usable_memory_bytes),
      cell(gib(c.headroom_bytes), "headroom", c.headroom_bytes),
      cell(c.max_batch ?? "–", "max-batch", c.max_batch),
      cell(c.max_seq ?? "–", "max-seq", c.max_seq),
      cell(speed === null ? "–" : Math.round(speed).toLocaleString("en"), "speed", speed),
      cell(time.step_s == null ? "–" : time.step_s.toFixed(2), "step", time.step_s),
      cell(whole == null ? "–" : t("web.page.hours", { value: (whole / 3600).toFixed(1) }), "time", whole),
    );
    body.append(tr);
  }
  drawAdvice(doc.card_advice ?? (doc.advice ? [doc.advice] : []));
  drawMemory(cards);
  const chosen = $("fitmap-card").value;
  $("fitmap-card").replaceChildren(...cards.map((c) => new Option(c.name, c.name)));
  if (cards.some((c) => c.name === chosen)) $("fitmap-card").value = chosen;
}

// -- the launch files --emit writes, zipped by the API ----------------------------------------
async function downloadLaunchFiles() {
  const fields = [...jobFields(), ...cardFields()];
  showError("");
  const response = await ask("plan/emit", fields, state.upload);
  if (!response.ok) {
    const doc = await response.json();
    showError(doc.error ? doc.error.message : response.statusText);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "gpuwise-plan-launch.zip";
  document.body.append(link);
  link.click();
  link.remove();
}

// -- batch x sequence fit map: one plan per cell, each from the API --------------------------
async function runFitMap() {
  const card = $("fitmap-card").value;
  if (!card) return;
  const base = jobFields().filter(([k]) => k !== "batch" && k !== "seq" && k !== "tokens");
  showError("");
  $("working").hidden = false;
  try {
    // sequences up to the model's context (longer ones the planner refuses without a flag)
    const longest = state.lastPlan ? state.lastPlan.model.max_position_embeddings : null;
    const seqs = MAP_SEQS.filter((s) => !longest || s <= longest);
    const cells = [];
    for (const [i, batch] of MAP_BATCHES.entries()) {
      for (const [j, seq] of seqs.entries()) {
        const fields = [...base, ["batch", String(batch)], ["seq", String(seq)], ["gpu", card], ["no-search", "true"]];
        const doc = await api("plan", fields, state.upload);
        const c = doc.cards[0];
        cells.push({ x: j, y: i, batch, seq, fits: c.fits, required: c.memory.required_bytes });
      }
    }
    drawFitMap(card, seqs, cells);
  } catch (e) {
    showError(e.message);
  } finally {
    $("working").hidden = true;
  }
}

function drawFitMap(card, seqs, found) {
  $("fitmap-chart").hidden = false;
  $("fitmap-chart").dataset.cells = JSON.stringify(found.map((c) => [c.batch, c.seq, c.fits, c.required]));
  const cells = found.map((c) => [c.x, c.y, +(c.required / GIB).toFixed(1), c.fits ? 1 : 0]);
  const c = chart("fitmap-chart");
  if (!c) return;
  c.resize();
  c.setOption({
    animation: false,
    title: { text: card, left: "center", textStyle: { fontSize: 13 } },
    tooltip: { formatter: (p) => `${MAP_BATCHES[p.value[1]]} × ${seqs[p.value[0]]}: ${p.value[2]} GiB` },
    grid: { left: 8, right: 8, top: 30, bottom: 30, containLabel: true },
    xAxis: { type: "category", data: seqs.map(String), name: t("web.page.seq"), nameLocation: "middle", nameGap: 24 },
    yAxis: { type: "category", data: MAP_BATCHES.map(String), name: t("web.page.batch") },
    visualMap: {
      type: "piecewise", dimension: 3, show: false,
      pieces: [{ value: 1, color: "#8fd19e" }, { value: 0, color: "#f4a3a3" }],
    },
    series: [{ type: "heatmap", data: cells, label: { show: true, formatter: (p) => p.value[2] } }],
  }, true);
}

// The plan's advice, one section per card that does not fit (`card_advice`): the changes that
// make it fit, the stacked one first, each with the memory a card then needs and its speed.
function drawAdvice(cardAdvice) {
  const box = $("advice");
  const sections = cardAdvice.filter((a) => !a.fits_as_asked).map(adviceSection).filter(Boolean);
  box.replaceChildren(...sections);
  box.hidden = sections.length === 0;
}

function adviceSection(advice) {
  const stacked = advice.stacked && advice.stacked.fits ? [advice.stacked] : [];
  const changes = [...stacked, ...advice.fits_alone];
  if (changes.length === 0) return null;
  const section = document.createElement("section");
  section.className = "card-advice";
  section.dataset.card = advice.card;
  const title = document.createElement("h3");
  title.textContent = t("web.page.advice", { card: advice.card });
  const list = document.createElement("ul");
  list.append(
    ...changes.map((c) => {
      const li = document.createElement("li");
      li.dataset.required = c.required_per_gpu_bytes;
      const speed = c.speed_vs_now == null ? "" : `, ${t("web.page.advice_speed", { value: c.speed_vs_now.toFixed(2) })}`;
      showText(li, `${c.change}: ${gib(c.required_per_gpu_bytes)} GiB${speed}` + (c.caveat ? ` (${c.caveat})` : ""));
      return li;
    }),
  );
  section.append(title, list);
  return section;
}

function chart(id) {
  if (!window.echarts) return null;
  if (!state.charts[id]) state.charts[id] = echarts.init($(id), null, { renderer: "svg" });
  return state.charts[id];
}

function drawMemory(cards) {
  const c = chart("memory-chart");
  if (!c) return;
  const names = cards.map((x) => `${x.name} · ${x.fits ? t("web.page.fits") : t("web.page.no_fit")}`);
  const series = PARTS.map((part, i) => ({
    name: t(`web.part.${part}`), type: "bar", stack: "memory", color: COLOURS[i],
    data: cards.map((x) => +(x.memory.breakdown[part] / GIB).toFixed(3)),
  }));
  series.push({
    name: t("web.page.usable"), type: "scatter", symbol: "rect", symbolSize: [4, 26], color: "#111",
    data: cards.map((x, i) => [+(x.usable_memory_bytes / GIB).toFixed(3), i]), z: 5,
  });
  const narrow = $("memory-chart").clientWidth < 600;
  $("memory-chart").style.height = `${Math.max(220, 70 + cards.length * (narrow ? 56 : 46))}px`;
  c.resize();
  c.setOption({
    animation: false,
    tooltip: { trigger: "item", valueFormatter: (v) => (Array.isArray(v) ? v[0] : v) + " GiB" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 8, right: 40, top: narrow ? 56 : 36, bottom: 24, containLabel: true },
    xAxis: { type: "value", name: "GiB", nameLocation: "end" },
    yAxis: {
      type: "category", data: names, inverse: true,
      axisLabel: {
        width: narrow ? 120 : 260, overflow: "break",
        color: (v) => (v.endsWith(t("web.page.fits")) ? "#1a7f37" : "#c62828"),
      },
    },
    series,
  }, true);
}

// -- recommend -----------------------------------------------------------------------------
async function runRecommend() {
  const fields = [...jobFields(), ["currency", $("currency").value], ["top", "10"]];
  if ($("budget").value.trim()) fields.push(["budget", $("budget").value.trim()]);
  showError("");
  $("working").hidden = false;
  try {
    drawOptions(await api("recommend", fields, state.upload));
  } catch (e) {
    $("options").hidden = true;
    showError(e.message);
  } finally {
    $("working").hidden = true;
  }
}

function drawOptions(doc) {
  const body = $("options").tBodies[0];
  body.replaceChildren();
  $("none-fit").hidden = doc.options_ok > 0;
  $("options").hidden = doc.options.length === 0;
  for (const o of doc.options) {
    const tr = document.createElement("tr");
    const cost = o.cost == null ? "–" : `${Math.round(o.cost).toLocaleString("en")} ${o.currency.toUpperCase()}`;
    const why = o.reason || (o.notes || [])[0] || "";
    tr.append(
      cell(String(o.rank), "rank", o.rank),
      cell(`${o.count} × ${o.gpu}`, "text option"),
      cell(o.strategy || "–", "text strategy"),
      cell(o.ok ? t("web.page.yes") : t("web.page.no"), o.ok ? "fit" : "nofit", o.ok),
      cell(o.required_per_gpu_bytes == null ? "–" : gib(o.required_per_gpu_bytes), "memory", o.required_per_gpu_bytes),
      cell(o.tokens_per_s == null ? "–" : Math.round(o.tokens_per_s).toLocaleString("en"), "speed", o.tokens_per_s),
      cell(cost, "cost", o.cost),
      cell(why, "why"),
    );
    body.append(tr);
  }
}

// -- every card for this job: recommend's options, one card of each -------------------------
async function runScatter() {
  const fields = [...jobFields(), ["currency", $("currency").value], ["max-gpus", "1"], ["top", "0"]];
  $("catalog-error").hidden = true;
  const asked = (state.scatterAsked = (state.scatterAsked || 0) + 1);
  try {
    const doc = await api("recommend", fields, state.upload);
    if (asked !== state.scatterAsked) return; // a later job's answer is coming
    state.catalog = doc;
    drawCatalog();
  } catch (e) {
    if (asked !== state.scatterAsked) return;
    // the plan above stands; only this chart could not be drawn
    state.catalog = null;
    $("catalog-chart").hidden = true;
    $("catalog-error").textContent = e.message;
    $("catalog-error").hidden = false;
  }
}

function drawCatalog() {
  const doc = state.catalog;
  if (!doc) return;
  // the cards that run this job: memory to spare, tokens per second, price (the document's)
  const runs = doc.options.filter((o) => o.tokens_per_s != null);
  const chartEl = $("catalog-chart");
  chartEl.hidden = false;
  chartEl.dataset.points = JSON.stringify(runs.map((o) => [o.slug, o.headroom_bytes, o.tokens_per_s, o.cost]));
  const c = chart("catalog-chart");
  if (!c) return;
  const currency = (doc.constraints.currency || "usd").toUpperCase();
  const points = runs.map((o) => ({
    value: [+(o.headroom_bytes / GIB).toFixed(2), o.tokens_per_s, o.cost],
    tip: t("web.page.scatter_tip", {
      card: o.gpu,
      needed: gib(o.required_per_gpu_bytes),
      usable: gib(o.usable_memory_bytes),
      speed: Math.round(o.tokens_per_s).toLocaleString("en"),
      cost: o.cost == null ? "–" : `${Math.round(o.cost).toLocaleString("en")} ${currency}`,
    }),
  }));
  const prices = runs.map((o) => o.cost).filter((p) => p != null);
  c.resize();
  c.setOption({
    animation: false,
    tooltip: { formatter: (p) => p.data.tip },
    grid: { left: 8, right: 70, top: 30, bottom: 30, containLabel: true },
    xAxis: { type: "value", name: t("web.page.axis_memory"), nameLocation: "middle", nameGap: 24 },
    yAxis: { type: "log", name: t("web.page.axis_speed"), nameLocation: "end", nameTextStyle: { align: "left" } },
    visualMap: {
      dimension: 2, min: prices.length ? Math.min(...prices) : 0, max: prices.length ? Math.max(...prices) : 1,
      calculable: true, right: 0, top: "middle",
      text: [t("web.page.axis_price", { currency }), ""], inRange: { color: ["#59a14f", "#edc948", "#e15759"] },
      outOfRange: { color: "#bbb" },
    },
    series: [{ type: "scatter", data: points, symbolSize: 9, encode: { x: 0, y: 1 } }],
  }, true);
}

// -- inputs --------------------------------------------------------------------------------
async function readUpload(file) {
  if (!file) {
    state.upload = null;
  } else if (/\.gguf$/i.test(file.name)) {
    // a model file: its header is at its start; the API takes the first bytes and the size
    const most = state.api.paths["/api/plan"].post.requestBody.content["application/octet-stream"].schema.maxLength;
    state.upload = { name: file.name, gguf: await file.slice(0, most).arrayBuffer(), size: file.size };
  } else {
    state.upload = { name: file.name, text: await file.text() };
  }
  const shown = $("uploaded");
  shown.hidden = !state.upload;
  shown.textContent = state.upload ? t("web.page.uploaded", { name: state.upload.name }) : "";
  $("model").disabled = !!state.upload;
}

function fromUrl() {
  const query = new URLSearchParams(location.search);
  for (const name of ["model", ...FORM_FIELDS, "budget", "currency"]) {
    if (!query.has(name)) continue;
    const el = $(name);
    if (el.type === "checkbox") el.checked = query.get(name) === "true";
    else el.value = query.get(name);
  }
  if (query.has("gpu")) $("gpu").value = query.getAll("gpu").join(", ");
  return query.has("model");
}

async function init() {
  await loadMessages(chosenLanguage());
  state.api = await fetch("/api/openapi.json").then((r) => r.json());
  const plan = defaults("plan");
  for (const name of ["task", "method", "precision"]) fillChoices($(name), plan[name]);
  fillChoices($("currency"), defaults("recommend").currency, state.lang === "zh-CN" ? "cny" : "usd");
  $("job").addEventListener("submit", (e) => { e.preventDefault(); runPlan(); });
  $("rec").addEventListener("submit", (e) => { e.preventDefault(); runRecommend(); });
  $("fitmap-form").addEventListener("submit", (e) => { e.preventDefault(); runFitMap(); });
  $("download").addEventListener("click", downloadLaunchFiles);
  $("config").addEventListener("change", (e) => readUpload(e.target.files[0]));
  $("copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText($("cli-command").textContent); } catch (e) { /* no clipboard: the text is there to select */ }
    $("copy").textContent = t("web.page.copied");
  });
  $("lang").addEventListener("change", async (e) => {
    await loadMessages(e.target.value);
    fillChoices($("task"), defaults("plan").task, $("task").value);
    if (state.lastPlan) await runPlan();
    drawCatalog();
    if (!$("options").hidden) await runRecommend();
  });
  window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
  const asked = fromUrl();
  api("model", [["list", "true"]]).then((d) => {
    $("presets").replaceChildren(...d.presets.map((p) => new Option(p)));
  }).catch(() => {});
  $("currency").addEventListener("change", () => { if (state.lastPlan) runScatter(); });
  if (asked) await runPlan();
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", init);
