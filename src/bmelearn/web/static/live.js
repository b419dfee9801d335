// The live page of bmelearn: the feed's snapshots from the WebSocket /live/ws, drawn as they come.
// Plain 2-D canvas (no WebGL), no library, no inline handler: the page's Content-Security-Policy holds.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const canvas = $("signal");
  if (!canvas) return; // nothing is decoded live
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/live/ws";
  const SILENT_MS = 6000; // no message for this long (heartbeats come every 2 s): the connection is lost
  let socket = null, retries = 0, lastMessage = 0, ended = false, latest = null, countdown = null;

  function setState(kind, text) {
    const el = $("state");
    el.className = "state " + kind;
    el.textContent = text;
    document.body.classList.toggle("stale", kind === "lost"); // what is shown is no longer current
  }

  function connect() {
    setState("connecting", "Connecting…");
    socket = new WebSocket(url);
    socket.onopen = () => { retries = 0; lastMessage = Date.now(); setState("live", "Live"); };
    socket.onmessage = (event) => {
      lastMessage = Date.now();
      const data = JSON.parse(event.data);
      if (!data.heartbeat) show(data);
    };
    socket.onclose = (event) => {
      socket = null;
      if (ended) return;
      if (event.code === 4404) { setState("ended", "Nothing live"); return; }
      const wait = Math.min(10, 0.5 * 2 ** retries); // s: 0.5, 1, 2, 4, 8, then every 10
      const until = Date.now() + wait * 1000;
      retries += 1;
      const tell = () => setState("lost", `Connection lost: trying again in ${Math.ceil((until - Date.now()) / 1000)} s`);
      tell();
      countdown = setInterval(tell, 1000);
      setTimeout(() => { clearInterval(countdown); connect(); }, wait * 1000);
    };
  }

  setInterval(() => { // a connection that went silent is closed, and so tried again
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessage > SILENT_MS) socket.close();
  }, 1000);

  const ms = (v) => (v === null ? "–" : v.toFixed(1) + " ms");
  const pct = (v) => (100 * v).toFixed(0) + " %";

  function show(data) {
    latest = data;
    if (data.finished && !ended) {
      ended = true;
      setState("ended", "Run ended");
      const box = $("ended");
      box.textContent = "The decoding has ended" + (data.finished_reason ? ": " + data.finished_reason : "") +
        ". The page keeps its last state.";
      box.hidden = false;
    }
    const decision = $("decision");
    decision.className = data.decision ? "" : "none";
    decision.textContent = data.decision === null ? "waiting for the first decision" : data.decision || "no decision";
    $("confidence").textContent = data.confidence === null ? "–" : pct(data.confidence);
    $("confidence-bar").style.width = data.confidence === null ? "0" : pct(data.confidence).replace(" ", "");
    $("speed-part").hidden = data.velocity === null || data.velocity === undefined;
    if (!$("speed-part").hidden) $("speed").textContent = pct(data.velocity);
    $("window").textContent = data.window === null ? "–" : String(data.window);
    showCounts(data);
    for (const kind of ["latency", "processing"]) {
      for (const p of ["p50", "p95", "p99"]) $(`${kind}-${p}`).textContent = ms(data.delay_ms[kind][p]);
    }
    const n = data.delay_ms.count;
    $("delay-count").textContent = `${n} decision${n === 1 ? "" : "s"}`;
    showMessages(data.messages);
    $("updated").textContent = new Date().toTimeString().slice(0, 8); // HH:MM:SS, as the messages
    draw(data.signal, data.stream.channels);
  }

  function showCounts(data) {
    const body = $("counts").tBodies[0];
    const rows = Object.entries(data.counts);
    if (data.no_decision) rows.push(["no decision", data.no_decision]);
    body.replaceChildren(...rows.map(([name, count]) => {
      const tr = document.createElement("tr");
      for (const [text, number] of [[name, false], [String(count), true],
        [data.decisions ? pct(count / data.decisions) : "–", true]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (number) td.className = "num";
        tr.append(td);
      }
      return tr;
    }));
  }

  function showMessages(messages) {
    const list = $("messages");
    if (!messages.length) return;
    list.replaceChildren(...messages.slice().reverse().map((m) => {
      const li = document.createElement("li"), time = document.createElement("span");
      time.className = "time";
      time.textContent = m.time;
      li.append(time, m.text);
      return li;
    }));
  }

  const fmt = (v) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(1) : v.toPrecision(3));

  function draw(signal, names) {
    const dpr = window.devicePixelRatio || 1, lane = names.length > 8 ? 34 : 52, axis = 22, label = 96;
    const width = canvas.clientWidth, height = lane * Math.max(1, names.length) + axis;
    canvas.style.height = height + "px";
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const left = label, right = width - 8, plot = right - left, bottom = height - axis;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let c = 0; c < names.length; c++) { // lanes, shaded every other one
      if (c % 2) { ctx.fillStyle = "#f4f7fa"; ctx.fillRect(0, c * lane, width, lane); }
    }
    ctx.strokeStyle = "#d6dde5"; // one line a second, "now" on the right
    ctx.fillStyle = "#5b6b7c";
    ctx.lineWidth = 1;
    ctx.textAlign = "center";
    const step = signal.seconds > 12 ? 5 : 1;
    for (let s = 0; s <= signal.seconds + 1e-9; s += step) {
      const x = Math.round(right - (s / signal.seconds) * plot) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, bottom); ctx.stroke();
      ctx.fillText(s === 0 ? "now" : `−${s} s`, Math.min(Math.max(x, left + 12), right - 14), bottom + axis / 2);
    }
    for (let c = 0; c < names.length; c++) {
      const low = signal.low[c], high = signal.high[c], top = c * lane;
      let min = Infinity, max = -Infinity;
      for (let i = 0; i < low.length; i++) {
        if (low[i] !== null && low[i] < min) min = low[i];
        if (high[i] !== null && high[i] > max) max = high[i];
      }
      ctx.textAlign = "left";
      ctx.fillStyle = "#1d2733";
      ctx.font = "bold 12px system-ui, sans-serif";
      ctx.fillText(names[c], 6, top + lane / 2 - (lane > 40 ? 8 : 6));
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = "#5b6b7c";
      if (min <= max) ctx.fillText(`${fmt(min)} … ${fmt(max)}`, 6, top + lane / 2 + (lane > 40 ? 8 : 7));
      if (!(min <= max)) continue;
      const middle = (min + max) / 2, half = (max - min) / 2 || 1, gain = (lane * 0.42) / half;
      const y = (v) => top + lane / 2 - (v - middle) * gain;
      const x = (i) => left + ((signal.bins - low.length + i + 0.5) / signal.bins) * plot;
      ctx.fillStyle = "rgba(47, 110, 165, 0.35)";
      ctx.strokeStyle = "#2f6ea5";
      let i = 0;
      while (i < low.length) { // each run of bins with values: the band between their lows and highs
        while (i < low.length && low[i] === null) i++;
        const first = i;
        while (i < low.length && low[i] !== null) i++;
        if (i === first) break;
        ctx.beginPath();
        for (let k = first; k < i; k++) ctx[k === first ? "moveTo" : "lineTo"](x(k), y(high[k]));
        for (let k = i - 1; k >= first; k--) ctx.lineTo(x(k), y(low[k]));
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    }
    if (!names.length || !signal.low[0] || !signal.low[0].length) {
      ctx.textAlign = "center";
      ctx.fillStyle = "#5b6b7c";
      ctx.font = "14px system-ui, sans-serif";
      ctx.fillText("no signal yet", left + plot / 2, bottom / 2);
    }
  }

  window.addEventListener("resize", () => { if (latest) draw(latest.signal, latest.stream.channels); });
  connect();
})();
