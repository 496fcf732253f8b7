// The sandbox chat page: acts through the emulator's /_emulator API, long-polls chat history.
// Every piece of text is put in the page with textContent / createTextNode, never as HTML:
// bot messages are drawn from the emulator's parsed entities (Telegram-HTML already parsed),
// keeping only b, i, u, s, code, pre and links; everything else stays plain text.
"use strict";

(() => {
  const EMULATOR = "/_emulator";
  const POLL_WAIT_SECONDS = 25;
  const ROLE_GROUPS = [
    ["citizen", "Người dân"],
    ["operators", "Tổng đài"],
    ["leaders", "Lãnh đạo"],
    ["agency", "Cơ quan tiếp nhận"],
  ];
  const AVATAR_SKIP = new Set(["sở", "cấp"]);
  const ENTITY_TAGS = {
    bold: "b",
    italic: "i",
    underline: "u",
    strikethrough: "s",
    code: "code",
    pre: "pre",
    text_link: "a",
    url: "a",
  };
  const COMMAND_PATTERN = /(^|[\s(])(\/[A-Za-z0-9_]{1,32})(?=$|[\s.,;:!?)])/g;

  const state = {
    setup: null,
    chats: new Map(), // chat_id (string) -> chat description
    selected: null,
    version: -1,
    counts: {}, // chat_id -> message count from the latest summary
    seen: {}, // chat_id -> message count when last viewed
    previews: {},
    pendingQueries: new Set(), // callback queries pressed from this page
    controller: null,
    renderedChat: null,
    toastTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function api(path, options = {}) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const reason = body && (body.error || body.description);
      throw new Error(reason || `HTTP ${response.status}`);
    }
    return body;
  }

  function postJson(path, payload) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  }

  function toast(message, kind = "info", ms = 3500) {
    const box = $("toast");
    box.textContent = message;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(state.toastTimer);
    state.toastTimer = setTimeout(() => {
      box.hidden = true;
    }, ms);
  }

  function setOnline(online) {
    const badge = $("connection");
    badge.dataset.online = String(online);
    badge.textContent = online ? "● Đang kết nối" : "● Mất kết nối, đang thử lại…";
  }

  function currentChat() {
    return state.chats.get(String(state.selected));
  }

  // ---------------------------------------------------------------- actions

  async function act(action) {
    try {
      return await action();
    } catch (error) {
      toast(`Không gửi được: ${error.message}`, "error", 5000);
      return null;
    }
  }

  // A Zalo chat (issue 11) has its own API beside the Telegram emulator's, in the same shapes.
  function apiOf(chat) {
    return (chat && chat.api) || EMULATOR;
  }

  function chatPath(suffix) {
    return `${apiOf(currentChat())}/chats/${encodeURIComponent(state.selected)}/${suffix}`;
  }

  function sendText(text) {
    const chat = currentChat();
    return act(() => postJson(chatPath("messages"), { text, user_id: chat.user_id }));
  }

  async function pressButton(messageId, data) {
    const chat = currentChat();
    const query = await act(() =>
      postJson(chatPath("callback"), {
        message_id: messageId,
        callback_data: data,
        user_id: chat.user_id,
      }),
    );
    if (query && query.id) state.pendingQueries.add(query.id);
  }

  function shareContact() {
    const chat = currentChat();
    return act(() =>
      postJson(chatPath("contact"), {
        phone_number: chat.phone || "0900000000",
        first_name: chat.user_name,
        user_id: chat.user_id,
      }),
    );
  }

  function shareLocation(latitude, longitude) {
    const chat = currentChat();
    return act(() =>
      postJson(chatPath("location"), { latitude, longitude, user_id: chat.user_id }),
    );
  }

  function sendFile(kind, file) {
    const chat = currentChat();
    const input = $("text-input");
    const form = new FormData();
    form.append(kind, file, file.name);
    form.append("user_id", String(chat.user_id));
    const caption = input.value.trim();
    if (caption) form.append("caption", caption);
    return act(async () => {
      const result = await api(chatPath(kind), { method: "POST", body: form });
      if (caption) input.value = "";
      return result;
    });
  }

  // ---------------------------------------------------------------- formatting

  function safeUrl(href) {
    try {
      const url = new URL(href, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  // Plain text of a bot message: /commands become clickable like in Telegram clients.
  function appendPlain(parent, text, commands) {
    if (!commands) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    let last = 0;
    for (const match of text.matchAll(COMMAND_PATTERN)) {
      const start = match.index + match[1].length;
      parent.appendChild(document.createTextNode(text.slice(last, start)));
      const command = el("span", "command", match[2]);
      command.setAttribute("role", "button");
      command.tabIndex = 0;
      command.title = "Bấm để gửi lệnh này";
      command.addEventListener("click", () => sendText(match[2]));
      parent.appendChild(command);
      last = start + match[2].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function entityElement(entity, text) {
    const tag = ENTITY_TAGS[entity.type];
    if (!tag) return null;
    if (tag !== "a") return document.createElement(tag);
    const href = safeUrl(entity.type === "url" ? text : entity.url || "");
    if (!href) return null;
    const link = document.createElement("a");
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  // Entities use UTF-16 offsets, which is what JavaScript strings index by.
  function renderEntities(parent, text, entities, start, end, commands) {
    let position = start;
    let index = 0;
    while (index < entities.length) {
      const entity = entities[index];
      const entityStart = Math.max(entity.offset, position);
      const entityEnd = Math.min(entity.offset + entity.length, end);
      let next = index + 1;
      while (next < entities.length && entities[next].offset < entityEnd) next += 1;
      if (entityEnd <= entityStart) {
        index = next;
        continue;
      }
      if (entityStart > position) {
        appendPlain(parent, text.slice(position, entityStart), commands);
      }
      const node = entityElement(entity, text.slice(entityStart, entityEnd));
      const children = entities.slice(index + 1, next);
      const inner = node && (node.tagName === "PRE" ? node.appendChild(el("code")) : node);
      const keepCommands = commands && (!node || !["A", "CODE", "PRE"].includes(node.tagName));
      renderEntities(inner || parent, text, children, entityStart, entityEnd, keepCommands);
      if (node) parent.appendChild(node);
      position = entityEnd;
      index = next;
    }
    if (position < end) appendPlain(parent, text.slice(position, end), commands);
  }

  function formattedText(text, entities, fromBot) {
    const box = el("div", "text");
    const sorted = (fromBot ? entities || [] : [])
      .filter((entity) => Number.isInteger(entity.offset) && Number.isInteger(entity.length))
      .sort((a, b) => a.offset - b.offset || b.length - a.length);
    renderEntities(box, text, sorted, 0, text.length, fromBot);
    return box;
  }

  // ---------------------------------------------------------------- rendering messages

  function fileUrl(fileId, name) {
    const query = name ? `?name=${encodeURIComponent(name)}` : "";
    return `/sandbox/files/${encodeURIComponent(fileId)}${query}`;
  }

  function formatSize(bytes) {
    if (!Number.isFinite(bytes)) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function renderMedia(bubble, message) {
    if (message.kind === "photo" && Array.isArray(message.photo) && message.photo.length) {
      const largest = message.photo[message.photo.length - 1];
      const link = el("a");
      link.href = fileUrl(largest.file_id);
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      const image = el("img", "photo");
      image.src = fileUrl(largest.file_id);
      image.alt = "Ảnh";
      image.loading = "lazy";
      link.appendChild(image);
      bubble.appendChild(link);
    } else if (message.kind === "document" && message.document) {
      const doc = message.document;
      const name = doc.file_name || "tệp";
      const link = el("a", "attachment", `📄 ${name} ${formatSize(doc.file_size)}`.trim());
      link.href = fileUrl(doc.file_id, name);
      link.download = name;
      bubble.appendChild(link);
    } else if (message.kind === "location" && message.location) {
      const { latitude, longitude } = message.location;
      const line = el("div", "text", `📍 ${latitude.toFixed(5)}, ${longitude.toFixed(5)} `);
      const map = el("a", null, "bản đồ");
      map.href = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=17/${latitude}/${longitude}`;
      map.target = "_blank";
      map.rel = "noopener noreferrer";
      line.appendChild(map);
      bubble.appendChild(line);
    } else if (message.kind === "contact" && message.contact) {
      const contact = message.contact;
      const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
      bubble.appendChild(el("div", "text", `👤 ${name} · ${contact.phone_number}`));
    } else if (message.kind === "sticker" && message.sticker) {
      bubble.appendChild(el("div", "text", message.sticker.emoji || "🙂"));
    } else if (message.kind !== "text") {
      bubble.appendChild(el("div", "muted", `[${message.kind}]`));
    }
  }

  function renderInlineKeyboard(message) {
    const markup = message.reply_markup;
    if (!markup || !Array.isArray(markup.inline_keyboard)) return null;
    const keyboard = el("div", "inline-keyboard");
    for (const row of markup.inline_keyboard) {
      const line = el("div", "inline-row");
      for (const button of row) {
        if (typeof button.callback_data === "string") {
          const node = el("button", "inline-button", button.text);
          node.type = "button";
          node.addEventListener("click", () => pressButton(message.message_id, button.callback_data));
          line.appendChild(node);
        } else if (button.url && safeUrl(button.url)) {
          const node = el("a", "inline-button", `${button.text} ↗`);
          node.href = safeUrl(button.url);
          node.target = "_blank";
          node.rel = "noopener noreferrer";
          line.appendChild(node);
        } else {
          line.appendChild(el("span", "inline-button", button.text));
        }
      }
      keyboard.appendChild(line);
    }
    return keyboard;
  }

  function timeOf(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString("vi-VN", {
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  function renderMessage(message, chat, memberNames) {
    const mine = !message.from_bot && message.user_id === chat.user_id;
    const wrapper = el("div", `message ${message.from_bot ? "from-bot" : mine ? "from-me" : "from-other"}`);
    wrapper.dataset.messageId = String(message.message_id);
    const bubble = el("div", "bubble");
    if (!mine) {
      const name = message.from_bot ? state.setup.bot.name : memberNames.get(message.user_id);
      bubble.appendChild(el("div", "sender", name || `#${message.user_id}`));
    }
    renderMedia(bubble, message);
    if (message.text) bubble.appendChild(formattedText(message.text, message.entities, message.from_bot));
    const keyboard = renderInlineKeyboard(message);
    if (keyboard) bubble.appendChild(keyboard);
    const meta = timeOf(message.date) + (message.edit_date ? " · đã sửa" : "");
    bubble.appendChild(el("div", "meta", meta));
    wrapper.appendChild(bubble);
    return wrapper;
  }

  function renderReplyKeyboard(markup) {
    const box = $("reply-keyboard");
    box.replaceChildren();
    if (!markup || !Array.isArray(markup.keyboard)) {
      box.hidden = true;
      return;
    }
    for (const row of markup.keyboard) {
      const line = el("div", "reply-row");
      for (const item of row) {
        const button = typeof item === "string" ? { text: item } : item;
        const node = el("button", "reply-button", button.text);
        node.type = "button";
        node.addEventListener("click", () => {
          if (button.request_contact) shareContact();
          else if (button.request_location) sendDemoLocation();
          else sendText(button.text);
        });
        line.appendChild(node);
      }
      box.appendChild(line);
    }
    box.hidden = false;
  }

  function renderChat(data) {
    const chat = currentChat();
    const list = $("messages");
    const firstRender = state.renderedChat !== chat.chat_id;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const memberNames = new Map((data.members || []).map((m) => [m.id, [m.first_name, m.last_name].filter(Boolean).join(" ")]));
    const messages = (data.messages || []).filter((message) => !message.deleted);
    const fragment = document.createDocumentFragment();
    if (!messages.length) {
      const hint =
        chat.role === "citizen"
          ? "Chưa có tin nhắn. Gõ /start để bắt đầu."
          : "Chưa có tin nhắn. Phiếu phản ánh gửi tới nhóm này sẽ hiện ở đây.";
      fragment.appendChild(el("div", "empty", hint));
    }
    for (const message of messages) fragment.appendChild(renderMessage(message, chat, memberNames));
    list.replaceChildren(fragment);
    if (firstRender || atBottom) list.scrollTop = list.scrollHeight;
    state.renderedChat = chat.chat_id;
    renderReplyKeyboard(data.reply_keyboard);
    for (const answer of data.callback_answers || []) {
      if (!state.pendingQueries.has(answer.callback_query_id)) continue;
      state.pendingQueries.delete(answer.callback_query_id);
      if (answer.text) toast(answer.text, answer.show_alert ? "error" : "info");
    }
  }

  // ---------------------------------------------------------------- sidebar

  function renderChatList() {
    const nav = $("chat-list");
    nav.replaceChildren();
    for (const [role, label] of ROLE_GROUPS) {
      const chats = [...state.chats.values()].filter((chat) => chat.role === role);
      if (!chats.length) continue;
      nav.appendChild(el("div", "chat-group", label));
      for (const chat of chats) {
        const item = el("button", "chat-item");
        item.type = "button";
        item.dataset.chatId = String(chat.chat_id);
        item.setAttribute("aria-current", String(chat.chat_id === state.selected));
        const avatar = el("span", "avatar", initials(chat));
        avatar.setAttribute("aria-hidden", "true");
        avatar.dataset.role = chat.role;
        const body = el("span", "chat-item-body");
        body.appendChild(el("span", "chat-item-title", chat.title));
        body.appendChild(el("span", "chat-item-preview", state.previews[chat.chat_id] || chat.role_label));
        const unread = Math.max(0, (state.counts[chat.chat_id] || 0) - (state.seen[chat.chat_id] || 0));
        const badge = el("span", "badge", unread);
        badge.hidden = unread === 0 || chat.chat_id === state.selected;
        badge.setAttribute("aria-label", `${unread} tin chưa đọc`);
        item.append(avatar, body, badge);
        item.addEventListener("click", () => selectChat(chat.chat_id));
        nav.appendChild(item);
      }
    }
  }

  // A person by their given name (the last word in Vietnamese), a group by its first words.
  function initials(chat) {
    // "(Zalo)" after a name says the channel; it is no part of the person's initial.
    const words = chat.title.split(/\s+/).filter((word) => word && !word.startsWith("("));
    if (chat.role === "citizen") return (words[words.length - 1] || "?").slice(0, 1).toUpperCase();
    const kept = words.filter((word) => !AVATAR_SKIP.has(word.toLowerCase()));
    return kept.slice(0, 2).map((word) => word.slice(0, 1).toUpperCase()).join("") || "?";
  }

  async function refreshSummary() {
    const summary = await api("/sandbox/api/summary");
    const first = Object.keys(state.counts).length === 0;
    for (const [chatId, info] of Object.entries(summary.chats)) {
      state.counts[chatId] = info.count;
      state.previews[chatId] = info.last_preview;
      // What was there when the page opened is not news.
      if (first) state.seen[chatId] = info.count;
    }
    state.seen[state.selected] = state.counts[state.selected] || 0;
    renderChatList();
  }

  function selectChat(chatId) {
    if (state.selected === chatId) return;
    state.selected = chatId;
    state.version = -1;
    state.seen[chatId] = state.counts[chatId] || 0;
    const chat = currentChat();
    $("chat-title").textContent = chat.title;
    $("chat-acting").textContent =
      chat.role === "citizen"
        ? chat.channel === "zalo_oa"
          ? `Bạn đang là ${chat.user_name}, nhắn tin với Official Account của tổng đài trên Zalo`
          : `Bạn đang là ${chat.user_name}, trò chuyện riêng với bot`
        : `Nhóm ${chat.role_label.toLowerCase()} · bạn đang là ${chat.user_name}`;
    $("messages").replaceChildren(el("div", "empty", "Đang tải…"));
    $("reply-keyboard").hidden = true;
    renderChatList();
    if (state.controller) state.controller.abort();
    $("text-input").focus();
  }

  // ---------------------------------------------------------------- live updates

  async function pollLoop() {
    for (;;) {
      const chatId = state.selected;
      const controller = new AbortController();
      state.controller = controller;
      const path =
        `${apiOf(state.chats.get(String(chatId)))}/chats/${encodeURIComponent(chatId)}/history` +
        `?since_version=${state.version}&wait=${POLL_WAIT_SECONDS}`;
      try {
        const data = await api(path, { signal: controller.signal });
        if (chatId !== state.selected) continue;
        setOnline(true);
        if (data.version !== state.version || state.renderedChat !== chatId) {
          state.version = data.version;
          renderChat(data);
          await refreshSummary();
        }
      } catch (error) {
        if (controller.signal.aborted) continue;
        setOnline(false);
        await sleep(1500);
      }
    }
  }

  // ---------------------------------------------------------------- composer and intro

  function fillComposer(text) {
    const input = $("text-input");
    input.value = text;
    input.focus();
    autoGrow();
  }

  function autoGrow() {
    const input = $("text-input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
  }

  async function submitText() {
    const input = $("text-input");
    const text = input.value;
    if (!text.trim()) return;
    const sent = await sendText(text);
    if (sent) {
      input.value = "";
      autoGrow();
    }
  }

  function sendDemoLocation() {
    const where = state.setup.demo_location;
    return shareLocation(where.latitude, where.longitude);
  }

  function renderHints() {
    const hints = $("hints");
    hints.replaceChildren();
    if (!state.setup.hints.length) hints.appendChild(el("span", "muted", "Không có hồ sơ mẫu."));
    for (const hint of state.setup.hints) {
      const chip = el("button", "chip");
      chip.type = "button";
      chip.appendChild(el("code", null, `/hoso ${hint.code} ${hint.last4}`));
      if (hint.label) chip.appendChild(el("span", "chip-label", hint.label));
      chip.title = `Mã hồ sơ ${hint.code}, 4 số cuối giấy tờ ${hint.last4}`;
      chip.addEventListener("click", () => {
        selectChat(citizenChatId());
        fillComposer(`/hoso ${hint.code} ${hint.last4}`);
      });
      hints.appendChild(chip);
    }
    const examples = $("examples");
    examples.replaceChildren();
    for (const text of state.setup.examples) {
      const chip = el("button", "chip", text);
      chip.type = "button";
      chip.addEventListener("click", () => {
        selectChat(citizenChatId());
        fillComposer(text);
      });
      examples.appendChild(chip);
    }
  }

  function citizenChatId() {
    const citizen = [...state.chats.values()].find((chat) => chat.role === "citizen");
    return citizen ? citizen.chat_id : state.selected;
  }

  function bindComposer() {
    const input = $("text-input");
    input.maxLength = state.setup.max_text_length;
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      submitText();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submitText();
      }
    });
    input.addEventListener("input", autoGrow);
    for (const kind of ["photo", "document"]) {
      const picker = $(`${kind}-input`);
      picker.addEventListener("change", async () => {
        const file = picker.files && picker.files[0];
        picker.value = "";
        if (file) await sendFile(kind, file);
      });
    }
    const panel = $("location-panel");
    $("location-button").addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      $("location-button").setAttribute("aria-expanded", String(!panel.hidden));
    });
    const where = state.setup.demo_location;
    $("demo-location").textContent = `Gửi vị trí mẫu (${where.label})`;
    $("latitude").value = String(where.latitude);
    $("longitude").value = String(where.longitude);
    $("demo-location").addEventListener("click", async () => {
      if (await sendDemoLocation()) panel.hidden = true;
    });
    $("send-coordinates").addEventListener("click", async () => {
      const latitude = Number.parseFloat($("latitude").value);
      const longitude = Number.parseFloat($("longitude").value);
      if (!(Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180)) {
        toast("Toạ độ không hợp lệ: vĩ độ trong ±90, kinh độ trong ±180.", "error");
        return;
      }
      if (await shareLocation(latitude, longitude)) panel.hidden = true;
    });
    $("toggle-intro").addEventListener("click", () => {
      const intro = $("intro");
      intro.hidden = !intro.hidden;
      $("toggle-intro").textContent = intro.hidden ? "Hướng dẫn" : "Ẩn hướng dẫn";
      $("toggle-intro").setAttribute("aria-expanded", String(!intro.hidden));
    });
  }

  async function main() {
    for (;;) {
      try {
        state.setup = await api("/sandbox/api/setup");
        break;
      } catch (_) {
        setOnline(false);
        await sleep(1500);
      }
    }
    setOnline(true);
    $("hotline-name").textContent = state.setup.hotline_name;
    for (const chat of state.setup.chats) state.chats.set(String(chat.chat_id), chat);
    renderHints();
    bindComposer();
    selectChat(citizenChatId());
    pollLoop();
  }

  document.addEventListener("DOMContentLoaded", main);
})();
