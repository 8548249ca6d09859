// The demo page: polls /demo/state and renders both sides; every action is a POST to /demo/...
// Text always goes into the page through the DOM (textContent), never as HTML.
"use strict";
(() => {
  const POLL_MS = 700;
  const EMOJI = {
    "+1": "👍", "-1": "👎", alarm_clock: "⏰", arrow_forward: "▶️", bell: "🔔", calendar: "📅",
    clipboard: "📋", droplet: "💧", email: "📧", exclamation: "❗", eyes: "👀", fire: "🔥",
    hammer_and_wrench: "🛠️", heart: "❤️", heavy_check_mark: "✔️", heavy_multiplication_x: "✖️",
    hourglass: "⌛", hourglass_flowing_sand: "⏳", house: "🏠", information_source: "ℹ️",
    iphone: "📱", large_green_circle: "🟢", link: "🔗", lock: "🔒", loud_sound: "🔊", memo: "📝",
    mute: "🔇", new: "🆕", no_entry: "⛔", no_entry_sign: "🚫", octagonal_sign: "🛑",
    ok_hand: "👌", outbox_tray: "📤", paperclip: "📎", phone: "☎️", pray: "🙏", pushpin: "📌",
    question: "❓", raised_hand: "✋", raising_hand: "🙋", red_circle: "🔴", rotating_light: "🚨",
    slightly_smiling_face: "🙂", smile: "😄", sound: "🔉", speaker: "🔈", speech_balloon: "💬",
    spiral_note_pad: "🗒️", star: "⭐", studio_microphone: "🎙️", tada: "🎉", telephone: "☎️",
    telephone_receiver: "📞", thumbsdown: "👎", thumbsup: "👍", timer_clock: "⏲️",
    warning: "⚠️", wave: "👋", white_check_mark: "✅", wrench: "🔧", x: "❌", zap: "⚡",
  };
  const REACT_LABELS = { claim: "claim", book: "book", close: "close" };

  const $ = (selector, root = document) => root.querySelector(selector);
  let state = null;
  let lastJson = "";
  let me = "";
  let photo = false;
  let polling = false;
  let again = false;
  const articles = new Map(); // ts -> {article, content, thread, form, key}
  const seen = { phone: "", slack: "" };
  const dismissed = new Set(); // ephemerals dismissed, by their place in the list

  // ---- small DOM helpers ---------------------------------------------------------------

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function emoji(name) {
    const base = name.split("::")[0];
    return EMOJI[base] || `:${name}:`;
  }

  function toast(message) {
    const box = $("#toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  // ---- talking to the demo ---------------------------------------------------------------

  async function post(path, data) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data),
      });
    } catch (error) {
      toast("The demo is not answering.");
      throw error;
    }
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = {}; }
    if (!response.ok) {
      toast(answer.error || `That didn't work (${response.status}).`);
      throw new Error(answer.error || String(response.status));
    }
    poll();
    return answer;
  }

  async function poll() {
    if (polling) { again = true; return; }
    polling = true;
    try {
      const response = await fetch("/demo/state", { cache: "no-store" });
      const text = await response.text();
      $("#offline").hidden = response.ok;
      if (response.ok && text !== lastJson) {
        lastJson = text;
        state = JSON.parse(text);
        render();
      }
    } catch (error) {
      $("#offline").hidden = false;
    } finally {
      polling = false;
      if (again) { again = false; poll(); }
    }
  }

  function loop() {
    poll().finally(() => setTimeout(loop, POLL_MS));
  }

  // ---- Slack's mrkdwn ----------------------------------------------------------------------

  const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&" };
  const decode = (text) => text.replace(/&(lt|gt|amp);/g, (m) => ENTITIES[m]);
  const INLINE = /<([^<>\n]+)>|`([^`\n]+)`|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~|:([a-z0-9_+'-]+(?:::skin-tone-[2-6])?):/g;
  const OPENS = /[\s([{"'“>]/;
  const CLOSES = /[\s.,!?;:)\]}"'”<]/;

  function inline(text, into) {
    let at = 0;
    let match;
    const pattern = new RegExp(INLINE.source, "g"); // one per call: inline() recurses
    while ((match = pattern.exec(text)) !== null) {
      const [whole, control, code, bold, italic, strike, shortcode] = match;
      const styled = bold !== undefined || italic !== undefined || strike !== undefined;
      if (styled) {
        const before = match.index === 0 ? " " : text[match.index - 1];
        const end = match.index + whole.length;
        const after = end >= text.length ? " " : text[end];
        if (!OPENS.test(before) || !CLOSES.test(after)) {
          pattern.lastIndex = match.index + 1;
          continue;
        }
      }
      if (match.index > at) into.append(decode(text.slice(at, match.index)));
      if (control !== undefined) into.append(controlNode(control));
      else if (code !== undefined) into.append(el("code", { text: decode(code) }));
      else if (styled) {
        const tag = bold !== undefined ? "strong" : italic !== undefined ? "em" : "s";
        const node = el(tag);
        inline(bold ?? italic ?? strike, node);
        into.append(node);
      } else if (shortcode !== undefined) into.append(emoji(shortcode));
      at = match.index + whole.length;
    }
    if (at < text.length) into.append(decode(text.slice(at)));
  }

  function controlNode(control) {
    const [target, label] = control.split("|", 2);
    const users = (state && state.slack.users) || {};
    if (target.startsWith("@")) {
      return el("span", { class: "mention", text: "@" + (users[target.slice(1)] || label || target.slice(1)) });
    }
    if (target.startsWith("!")) {
      const name = target.slice(1).split("^")[0];
      return el("span", { class: "mention", text: "@" + (label || name) });
    }
    if (target.startsWith("#")) {
      const channels = (state && state.slack.channels) || {};
      return el("span", { class: "mention", text: "#" + (label || channels[target.slice(1)] || target.slice(1)) });
    }
    if (/^(https?:|tel:|mailto:)/.test(target)) {
      const link = el("a", { href: decode(target), target: "_blank", rel: "noopener noreferrer" });
      inline(label || target, link);
      return link;
    }
    return decode(`<${control}>`);
  }

  function mrkdwn(text) {
    const box = el("div", { class: "mrkdwn" });
    const lines = String(text || "").split("\n");
    let index = 0;
    const plain = [];
    const flush = () => {
      if (!plain.length) return;
      inline(plain.join("\n"), box);
      plain.length = 0;
    };
    while (index < lines.length) {
      const line = lines[index];
      if (line.startsWith("```")) {
        flush();
        const code = [line.slice(3)];
        index += 1;
        while (index < lines.length && !lines[index].includes("```")) code.push(lines[index++]);
        if (index < lines.length) code.push(lines[index++].replace("```", ""));
        box.append(el("pre", { text: decode(code.join("\n").trim()) }));
        continue;
      }
      if (/^(&gt;|>)/.test(line)) {
        flush();
        const quote = el("blockquote");
        const quoted = [];
        while (index < lines.length && /^(&gt;|>)/.test(lines[index])) {
          quoted.push(lines[index++].replace(/^(&gt;|>) ?/, ""));
        }
        inline(quoted.join("\n"), quote);
        box.append(quote);
        continue;
      }
      plain.push(line);
      index += 1;
    }
    flush();
    return box;
  }

  function plainText(object) {
    const text = (object && object.text) || "";
    if (!object || object.emoji === false) return text;
    return text.replace(/:([a-z0-9_+'-]+):/g, (m, name) => (EMOJI[name] ? EMOJI[name] : m));
  }

  function textObject(object) {
    if (!object) return el("span");
    return object.type === "mrkdwn" ? mrkdwn(object.text) : el("div", { class: "plain", text: plainText(object) });
  }

  // ---- Block Kit (the block types the product posts) ---------------------------------------

  function blocks(list, message) {
    const box = el("div", { class: "blocks" });
    for (const block of list) {
      if (block.type === "section") {
        const section = el("div", { class: "bk-section" });
        if (block.text) section.append(textObject(block.text));
        if (Array.isArray(block.fields)) {
          section.append(el("div", { class: "bk-fields" }, ...block.fields.map(textObject)));
        }
        if (block.accessory) section.append(element(block.accessory, message));
        box.append(section);
      } else if (block.type === "context") {
        const context = el("div", { class: "bk-context" });
        for (const item of block.elements || []) {
          context.append(item.type === "image" ? el("span", { text: item.alt_text || "" }) : textObject(item));
        }
        box.append(context);
      } else if (block.type === "actions") {
        box.append(el("div", { class: "bk-actions" }, ...(block.elements || []).map((e) => element(e, message))));
      } else if (block.type === "header") {
        box.append(el("div", { class: "bk-header", text: plainText(block.text) }));
      } else if (block.type === "divider") {
        box.append(el("hr"));
      } else if (block.type === "image") {
        box.append(el("div", { class: "bk-unknown", text: `[image: ${block.alt_text || ""}]` }));
      } else if (block.type !== "rich_text") {
        box.append(el("div", { class: "bk-unknown", text: `[${block.type} block]` }));
      }
    }
    return box;
  }

  function element(item, message) {
    if (item.type !== "button") return el("span", { class: "bk-unknown", text: `[${item.type}]` });
    const button = el("button", {
      type: "button",
      class: `bk-button ${item.style || ""}`,
      dataset: { action: item.action_id || "" },
      text: plainText(item.text),
    });
    button.addEventListener("click", async () => {
      if (item.url) window.open(item.url, "_blank", "noopener");
      if (item.confirm) {
        const body = item.confirm.text ? plainOf(item.confirm.text) : "";
        if (!window.confirm(`${plainText(item.confirm.title)}\n\n${body}`)) return;
      }
      if (!item.action_id) return;
      button.disabled = true;
      try {
        await post("/demo/slack/click", { user: me, ts: message.ts, action_id: item.action_id });
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  function plainOf(object) {
    return object.type === "mrkdwn" ? mrkdwn(object.text).textContent : plainText(object);
  }

  // ---- the phone ----------------------------------------------------------------------------

  function linked(text) {
    const box = el("div", { class: "bubble" });
    const pattern = /https?:\/\/[^\s<>"]+/g;
    let at = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      box.append(text.slice(at, match.index));
      box.append(el("a", { href: match[0], target: "_blank", rel: "noopener noreferrer", text: match[0] }));
      at = match.index + match[0].length;
    }
    box.append(text.slice(at));
    return box;
  }

  function renderPhone() {
    const phone = state.phone;
    $("#business-name").textContent = state.business;
    $("#business-number").textContent = phone.business.pretty;
    $("#my-number").textContent = phone.pretty;
    $("#call").disabled = phone.on_a_call;
    $("#new-caller").disabled = phone.on_a_call;

    const calls = phone.timeline.filter((entry) => entry.kind === "call");
    const live = calls.find((entry) => entry.stage !== "ended");
    const screen = $("#call-screen");
    screen.hidden = !live;
    screen.replaceChildren();
    if (live) {
      const words = {
        calling: `Calling ${state.business}…`,
        ringing: `Ringing… (the crew's phone rings for up to ${live.ring_seconds || "?"} s)`,
        talking: "On the line",
      };
      screen.append(el("div", { class: "state", text: words[live.stage] || live.stage }));
      for (const heard of live.heard) screen.append(el("p", { class: "heard", text: `🔊 “${heard}”` }));
    }

    const list = $("#sms");
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren();
    const shown = phone.timeline.filter((entry) => entry.kind === "text" || entry.stage === "ended");
    if (!shown.length) {
      list.append(el("li", { class: "empty", text: "No messages yet. Call the business and let it ring out." }));
    }
    for (const entry of shown) {
      if (entry.kind === "call") {
        const item = el("li", { class: "call" });
        item.append(el("div", { text: `📞 You called · ${clock(entry.at)} · ${entry.outcome}` }));
        for (const heard of entry.heard) item.append(el("div", { text: `🔊 “${heard}”` }));
        list.append(item);
        continue;
      }
      const item = el("li", { class: entry.dir, dataset: { by: entry.by || "me" } });
      const bubble = linked(entry.body);
      if (entry.photo) bubble.prepend(el("img", { src: "/demo/photo.png", alt: "The photo you sent: a dripping pipe" }));
      if (entry.media) bubble.append(el("div", { class: "small", text: `[${entry.media} attachment(s)]` }));
      item.append(bubble);
      let meta = clock(entry.at);
      if (entry.by === "twilio") meta += " · automatic reply from Twilio (it answers STOP and HELP itself)";
      if (entry.state === "sending") meta += " · sending…";
      if (entry.state === "failed") meta += ` · ${entry.error}`;
      item.append(el("div", { class: "meta", text: meta }));
      list.append(item);
    }
    if (stick) list.scrollTop = list.scrollHeight;
  }

  // ---- the channel --------------------------------------------------------------------------

  function initials(name) {
    return name.split(/\s+/).map((word) => word[0] || "").join("").slice(0, 2).toUpperCase();
  }

  function avatar(user, name) {
    let hue = 0;
    for (const ch of user) hue = (hue * 31 + ch.charCodeAt(0)) % 360;
    const face = el("div", { class: "avatar", "aria-hidden": "true", text: initials(name) });
    face.style.background = user === state.slack.bot ? "#4a154b" : `hsl(${hue} 45% 42%)`;
    return face;
  }

  function reactionsRow(message) {
    const users = state.slack.users;
    const row = el("div", { class: "reactions" });
    for (const reaction of message.reactions) {
      const mine = reaction.users.includes(me);
      const who = reaction.users.map((u) => users[u] || u).join(", ");
      row.append(el("button", {
        type: "button",
        class: `reaction${mine ? " mine" : ""}`,
        title: `${who} reacted with :${reaction.name}:`,
        "aria-pressed": mine ? "true" : "false",
        dataset: { reaction: reaction.name },
        text: `${emoji(reaction.name)} ${reaction.users.length}`,
        onclick: () => post("/demo/slack/react", { user: me, ts: message.ts, name: reaction.name, remove: mine }),
      }));
    }
    return row;
  }

  function quickReactions(message) {
    const row = el("div", { class: "quick-reacts", role: "group", "aria-label": "React" });
    for (const [action, names] of Object.entries(state.reactions)) {
      const name = names[0];
      if (!name) continue;
      const done = message.reactions.some((r) => r.name === name && r.users.includes(me));
      row.append(el("button", {
        type: "button",
        dataset: { react: name },
        title: `React :${name}: (${REACT_LABELS[action]}s the lead)`,
        text: `${emoji(name)} ${REACT_LABELS[action]}`,
        disabled: done,
        onclick: () => post("/demo/slack/react", { user: me, ts: message.ts, name, remove: false }),
      }));
    }
    return row;
  }

  function messageView(message, { top }) {
    const users = state.slack.users;
    const name = message.bot ? "textback" : users[message.user] || message.user;
    const body = el("div");
    const head = el("div", {}, el("span", { class: "name", text: name }));
    if (message.bot) head.append(el("span", { class: "app", text: "APP" }));
    if (message.broadcast) head.append(el("span", { class: "muted small", text: " · replied to a thread" }));
    if (message.edited) head.append(el("span", { class: "muted small", text: " (edited)" }));
    if (!message.bot && message.user === me) {
      head.append(el("button", {
        type: "button",
        class: "linkish delete",
        text: "delete",
        onclick: () => post("/demo/slack/delete", { user: me, ts: message.ts }),
      }));
    }
    body.append(head);
    if (message.blocks && message.blocks.length) body.append(blocks(message.blocks, message));
    else if (message.text) body.append(mrkdwn(message.text));
    if (message.files.length) {
      const files = el("div", { class: "files" });
      for (const file of message.files) files.append(el("img", { src: file.url, alt: file.title, title: file.title }));
      body.append(files);
    }
    if (message.reactions.length) body.append(reactionsRow(message));
    const left = undoLeft(message);
    if (left !== null) {
      body.append(el("div", {
        class: "muted small undo",
        text: `⏳ texted in ${left} s: delete or edit it before then to change it`,
      }));
    }
    if (top && message.bot && !message.broadcast) body.append(quickReactions(message));
    return [avatar(message.user, name), body];
  }

  // A crew reply waits REPLY_UNDO_SECONDS under the bot's ⏳ before it is texted: count it down
  // from when this page first saw the ⏳ (the simulator's timestamps are not the clock).
  const waitingSince = new Map();
  function undoLeft(message) {
    const waiting = message.reactions.some(
      (r) => r.name === "hourglass_flowing_sand" && r.users.includes(state.slack.bot));
    if (!waiting || !state.undo_seconds) {
      waitingSince.delete(message.ts);
      return null;
    }
    if (!waitingSince.has(message.ts)) waitingSince.set(message.ts, Date.now());
    const passed = (Date.now() - waitingSince.get(message.ts)) / 1000;
    return Math.max(0, Math.ceil(state.undo_seconds - passed));
  }

  function ephemeralView(ephemeral) {
    const box = el("div", { class: "ephemeral" });
    box.append(el("div", { class: "only" }, "Only visible to you · ", el("button", {
      type: "button",
      class: "linkish",
      text: "dismiss",
      onclick: () => { dismissed.add(ephemeral.key); box.remove(); },
    })));
    if (ephemeral.blocks && ephemeral.blocks.length) box.append(blocks(ephemeral.blocks, { ts: "" }));
    else box.append(mrkdwn(ephemeral.text));
    return box;
  }

  function replyForm(ts) {
    const input = el("textarea", { rows: "1", "aria-label": "Reply in this thread" });
    const form = el("form", { class: "reply", dataset: { thread: ts } }, input, el("button", { type: "submit", text: "Reply" }));
    const send = async () => {
      const text = input.value;
      if (!text.trim()) return;
      await post("/demo/slack/message", { user: me, text, thread_ts: ts });
      input.value = "";
    };
    form.addEventListener("submit", (event) => { event.preventDefault(); send(); });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
    });
    return form;
  }

  function renderChannel() {
    const slack = state.slack;
    $("#channel-name").textContent = `# ${slack.name}`;
    const box = $("#channel");
    const stick = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const mine = slack.ephemerals
      .map((e, index) => ({ ...e, key: index }))
      .filter((e) => e.user === me && !dismissed.has(e.key));
    const wanted = new Set(slack.messages.map((m) => m.ts));
    for (const [ts, entry] of articles) {
      if (!wanted.has(ts)) { entry.article.remove(); articles.delete(ts); }
    }
    box.querySelector(".empty")?.remove();
    if (!slack.messages.length) {
      box.append(el("p", { class: "empty", text: "Nothing here yet. Missed calls show up as cards." }));
    }
    for (const message of slack.messages) {
      const thread = mine.filter((e) => e.thread_ts === message.ts);
      const key = JSON.stringify([message, thread, me]);
      let entry = articles.get(message.ts);
      if (!entry) {
        const content = el("div", { class: "msg" });
        const threadBox = el("div", { class: "thread" });
        const article = el("article", { class: "top", dataset: { ts: message.ts } }, content);
        let form = null;
        if (!message.broadcast) {
          form = replyForm(message.ts);
          const holder = el("div", { class: "msg" }, el("div"), el("div", {}, threadBox, form));
          article.append(holder);
        }
        box.append(article);
        entry = { article, content, thread: threadBox, form, key: "" };
        articles.set(message.ts, entry);
      }
      if (entry.key === key) continue;
      entry.key = key;
      entry.article.classList.toggle("lead", Boolean(message.blocks && message.blocks.some((b) => b.type === "actions")));
      entry.content.replaceChildren(...messageView(message, { top: true }));
      entry.thread.replaceChildren(
        ...(message.replies || []).map((reply) => el("div", { class: "msg thread-msg", dataset: { ts: reply.ts } }, ...messageView(reply, { top: false }))),
        ...thread.map(ephemeralView),
      );
      if (entry.form) {
        entry.form.querySelector("textarea").placeholder = `Reply as ${state.slack.users[me] || me}…`;
      }
    }
    if (stick) box.scrollTop = box.scrollHeight;
    const answers = $("#answers");
    answers.replaceChildren(...mine.filter((e) => !e.thread_ts).slice(-1).map(ephemeralView));
  }

  // ---- tabs (phone-size screens show one side at a time) ------------------------------------

  const narrow = window.matchMedia("(max-width: 820px)");

  function show(pane) {
    for (const tab of document.querySelectorAll(".tabs button")) {
      const active = tab.dataset.pane === pane;
      tab.setAttribute("aria-selected", active ? "true" : "false");
      $(`#${tab.dataset.pane}`).classList.toggle("active", active);
      if (active) tab.querySelector(".dot").hidden = true;
    }
  }

  function markUnseen(pane, fingerprint) {
    if (seen[pane] === fingerprint) return;
    const first = seen[pane] === "";
    seen[pane] = fingerprint;
    const hidden = narrow.matches && !$(`#${pane}`).classList.contains("active");
    if (!first && hidden) $(`#tab-${pane} .dot`).hidden = false;
  }

  // ---- putting it together ------------------------------------------------------------------

  function render() {
    const select = $("#me");
    if (!select.options.length) {
      for (const member of state.crew) {
        select.append(el("option", { value: member.id, text: member.admin ? `${member.name} (admin)` : member.name }));
      }
      me = state.crew.length ? state.crew[0].id : "";
      select.value = me;
    }
    renderPhone();
    renderChannel();
    markUnseen("phone", JSON.stringify(state.phone.timeline.map((e) => [e.at, e.stage])));
    markUnseen("slack", JSON.stringify(state.slack.messages.map((m) => [m.ts, (m.replies || []).length])));
  }

  function wire() {
    $("#me").addEventListener("change", (event) => {
      me = event.target.value;
      for (const entry of articles.values()) entry.key = "";
      if (state) render();
    });
    for (const tab of document.querySelectorAll(".tabs button")) {
      tab.addEventListener("click", () => show(tab.dataset.pane));
    }
    $("#choice").addEventListener("change", () => {
      $("#voicemail-words").hidden = $("#choice").value !== "voicemail";
    });
    $("#call-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const choice = $("#choice").value;
      post("/demo/call", { choice, voicemail: $("#voicemail").value }).catch(() => {});
    });
    $("#new-caller").addEventListener("click", () => post("/demo/caller", {}).catch(() => {}));
    const body = $("#sms-body");
    const setPhoto = (on) => {
      photo = on;
      $("#photo-toggle").setAttribute("aria-pressed", on ? "true" : "false");
      $("#attached").hidden = !on;
    };
    const sendText = async (text) => {
      await post("/demo/text", { body: text, photo });
      setPhoto(false);
    };
    $("#compose").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = body.value;
      sendText(text).then(() => { if (body.value === text) body.value = ""; }).catch(() => {});
    });
    body.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        $("#compose").requestSubmit();
      }
    });
    for (const quick of document.querySelectorAll("[data-quick]")) {
      quick.addEventListener("click", () => sendText(quick.dataset.quick).catch(() => {}));
    }
    $("#photo-toggle").addEventListener("click", () => setPhoto(!photo));
    $("#command").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("#command-text");
      const text = input.value.trim();
      if (!text) return;
      const done = text.startsWith("/")
        ? post("/demo/slack/command", { user: me, text })
        : post("/demo/slack/message", { user: me, text, thread_ts: null });
      done.then(() => { input.value = text.startsWith("/textback") ? "/textback " : ""; }).catch(() => {});
    });
  }

  wire();
  loop();
})();
