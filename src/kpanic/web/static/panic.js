// Decodes a drm_panic QR URL whose data sits in the URL fragment (after '#').
//
// Browsers never send the fragment to the server, so this page decodes it locally and shows
// the kernel log; nothing leaves the browser until the person presses "Submit this crash
// report". No external library: digits -> bytes by hand (the kernel's two mappings), then the
// browser's own DecompressionStream("deflate") for the zlib stream.
"use strict";

(function () {
  const MAX_DIGITS = 64 * 1024; // a V40 code holds at most 7089 digits; be generous but bounded
  const MAX_TEXT_BYTES = 1024 * 1024; // stop inflating beyond this (zip bombs)

  // fido2 (v6.15+, "z="): final short chunk length in digits -> bytes it carries.
  const FIDO2_TAIL = { 3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6 };

  function fail(message) {
    const err = new Error(message);
    err.name = "PayloadError";
    return err;
  }

  function checkDigits(digits) {
    if (digits.length > MAX_DIGITS) throw fail("too many digits (" + digits.length + ")");
    if (!/^[0-9]*$/.test(digits)) {
      const pos = digits.search(/[^0-9]/);
      throw fail("not a digit at character " + pos);
    }
  }

  // 7 bytes -> 17 digits, each chunk little-endian (first byte least significant).
  function fido2ToBytes(digits) {
    checkDigits(digits);
    const full = Math.floor(digits.length / 17);
    const rest = digits.length % 17;
    let tail = 0;
    if (rest !== 0) {
      tail = FIDO2_TAIL[rest];
      if (tail === undefined) throw fail("a final group of " + rest + " digits is impossible for z=");
    }
    const out = new Uint8Array(full * 7 + tail);
    let o = 0;
    for (let i = 0; i <= full; i++) {
      const n = i < full ? 7 : tail;
      if (n === 0) break;
      const chunk = digits.substr(i * 17, i < full ? 17 : rest);
      let value = BigInt(chunk);
      if (value >= 1n << BigInt(8 * n)) {
        throw fail("digit group " + (i + 1) + " is too large for " + n + " bytes");
      }
      for (let b = 0; b < n; b++) {
        out[o++] = Number(value & 0xffn);
        value >>= 8n;
      }
    }
    return out;
  }

  // Digits the v6.12 encoder writes for a final group of k bits (k = 1..12).
  function legacyTailWidth(k) {
    if (k === 0) return 0;
    if (k <= 4) return 1;
    if (k <= 7) return 2;
    if (k <= 10) return 3;
    return 4;
  }

  function legacyDigitCount(nbytes) {
    const bits = nbytes * 8;
    return 4 * Math.floor(bits / 13) + legacyTailWidth(bits % 13);
  }

  // 13 bits -> 4 digits, big-endian bit string. The digit count fixes the byte length.
  function legacyToBytes(digits) {
    checkDigits(digits);
    let nbytes = -1;
    const guess = Math.floor((digits.length * 13) / 32);
    for (let n = Math.max(0, guess - 3); n <= guess + 3; n++) {
      if (legacyDigitCount(n) === digits.length) {
        nbytes = n;
        break;
      }
    }
    if (nbytes < 0) throw fail(digits.length + " digits is not a possible length for zl=");
    const totalBits = nbytes * 8;
    const fullGroups = Math.floor(totalBits / 13);
    const tailBits = totalBits % 13;
    const out = new Uint8Array(nbytes);
    let acc = 0; // bit accumulator (fewer than 8 + 13 bits at a time)
    let accBits = 0;
    let o = 0;
    const push = function (value, bits) {
      for (let b = bits - 1; b >= 0; b--) {
        acc = (acc << 1) | ((value >> b) & 1);
        accBits++;
        if (accBits === 8) {
          out[o++] = acc;
          acc = 0;
          accBits = 0;
        }
      }
    };
    for (let g = 0; g < fullGroups; g++) {
      const value = parseInt(digits.substr(g * 4, 4), 10);
      if (value > 8191) throw fail("digit group " + (g + 1) + " is over 8191");
      push(value, 13);
    }
    if (tailBits) {
      const value = parseInt(digits.substr(fullGroups * 4), 10);
      if (value >= 1 << tailBits) {
        throw fail("the last digit group is too large (kernel v6.12-v6.14 tail defect)");
      }
      push(value, tailBits);
    }
    return out;
  }

  // Inflate a zlib stream. Returns {bytes, complete}: on a corrupt tail we keep what inflated.
  async function inflate(bytes, maxBytes) {
    const limit = maxBytes || MAX_TEXT_BYTES;
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const reader = stream.getReader();
    const parts = [];
    let size = 0;
    let complete = true;
    let error = null;
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        size += r.value.length;
        if (size > limit) {
          await reader.cancel();
          throw fail("the decompressed log is larger than " + limit + " bytes");
        }
        parts.push(r.value);
      }
    } catch (e) {
      if (e && e.name === "PayloadError") throw e;
      complete = false;
      error = String((e && e.message) || e);
    }
    const out = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return { bytes: out, complete: complete, error: error };
  }

  // One query value as the kernel writes it: '%XX' escapes are decoded, but '+' is a plus
  // sign, not a space (this is not form encoding: kernel releases such as "6.18.14+" or
  // Debian's "6.15.6+deb13-amd64" keep their '+'). A stray '%' is kept as it is.
  function decodeValue(value) {
    try {
      return decodeURIComponent(value);
    } catch (e) {
      return value;
    }
  }

  // Parse "?a=..&v=..&z=.." (with or without the leading '?', '#' or a whole URL). The first
  // occurrence of a parameter wins, like the server's parser.
  function parseParams(text) {
    let s = text || "";
    const hash = s.indexOf("#");
    if (hash >= 0) s = s.slice(hash + 1);
    const q = s.indexOf("?");
    if (q >= 0) s = s.slice(q + 1);
    const params = new Map();
    for (const item of s.split("&")) {
      if (!item) continue;
      const eq = item.indexOf("=");
      const key = decodeValue(eq >= 0 ? item.slice(0, eq) : item);
      if (!params.has(key)) params.set(key, decodeValue(eq >= 0 ? item.slice(eq + 1) : ""));
    }
    const get = (k) => (params.has(k) ? params.get(k) : null);
    return { arch: get("a"), kernel: get("v"), distro: get("d"), z: get("z"), zl: get("zl") };
  }

  async function decodeFragment(fragment) {
    const p = parseParams(fragment);
    let encoding;
    let data;
    if (p.z !== null) {
      encoding = "z";
      data = fido2ToBytes(p.z);
    } else if (p.zl !== null) {
      encoding = "zl";
      data = legacyToBytes(p.zl);
    } else {
      throw fail("the link holds no panic data (no z= or zl= parameter)");
    }
    if (data.length === 0) throw fail("the panic data is empty");
    const inflated = await inflate(data);
    const text = new TextDecoder("utf-8", { fatal: false }).decode(inflated.bytes);
    return {
      arch: p.arch,
      kernel: p.kernel,
      distro: p.distro,
      encoding: encoding,
      data: data,
      text: text,
      complete: inflated.complete,
      error: inflated.error,
    };
  }

  function show(id, visible) {
    const el = document.getElementById(id);
    if (el) el.hidden = !visible;
  }

  function setText(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value === null || value === undefined ? "" : String(value);
  }

  async function submit(fragment, buttonId) {
    const button = document.getElementById(buttonId);
    button.disabled = true;
    setText("submit-status", "Sending…");
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const url = window.location.origin + window.location.pathname + "?" + parseParamsRaw(fragment);
    try {
      const resp = await fetch(document.body.dataset.submitUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        credentials: "same-origin",
        body: JSON.stringify({ url: url }),
      });
      let body = await resp.json();
      // 202: stored, being analysed; wait on its status URL (kpanic.web.intake).
      while (resp.ok && (body.status === "queued" || body.status === "running")) {
        setText("submit-status", "Stored; analysing…");
        body = await (await fetch(body.status_url + "?wait=5", { credentials: "same-origin" })).json();
      }
      if (body.status === "rejected" || body.status === "failed") {
        setText("submit-status", "Not stored: " + (body.error || "the input could not be analysed"));
        button.disabled = false;
        return;
      }
      if (!resp.ok) {
        setText("submit-status", "Not stored: " + (body.detail || resp.status));
        button.disabled = false;
        return;
      }
      setText("submit-status", "");
      // The consent notice ("nothing has been sent yet") is no longer true: replace it.
      show("frag-consent", false);
      setText("frag-stored", (body.is_new === false ?
        "This crash was already stored as report #" : "Stored: thank you. Your crash is report #") +
        body.id + ".");
      show("frag-stored", true);
      setText("result-title", body.title || "(no crash found in this log)");
      setText("result-class", body.bug_class || "unknown");
      setText("result-rust", body.rust_prevents || "unknown");
      const link = document.getElementById("result-link");
      link.href = body.group_url || body.report_url;
      const rlink = document.getElementById("result-report-link");
      rlink.href = body.report_url;
      show("submit-result", true);
      show("fragment-error", false);
      button.hidden = true;
      showAdvice(body.id);
    } catch (e) {
      setText("submit-status", "Not stored: " + String((e && e.message) || e));
      button.disabled = false;
    }
  }

  // What "Send this link to the server" sends, in words: encoding, digit count, arch, kernel.
  function undecodedSummary(fragment) {
    const p = parseParams(fragment);
    const digits = p.z !== null ? p.z : p.zl;
    const parts = [];
    if (digits !== null) {
      parts.push("the link's " + (p.z !== null ? "z=" : "zl=") + " data (" + digits.length +
        " digits)");
    } else {
      parts.push("the link (it holds no z= or zl= data)");
    }
    parts.push("architecture " + (p.arch || "unknown"));
    parts.push("kernel " + (p.kernel || "unknown"));
    return parts.join(", ");
  }

  // The stored crash in plain words: what crashed, whether it is known, what to do next.
  async function showAdvice(reportId) {
    const base = document.body.dataset.adviceUrl;
    if (!base) return;
    try {
      const resp = await fetch(base.replace(/0$/, String(reportId)), { credentials: "same-origin" });
      if (!resp.ok) return;
      const advice = await resp.json();
      setText("result-what", advice.what);
      setText("result-known", advice.known);
      setText("result-text", advice.report_text);
      const list = document.getElementById("result-steps");
      list.textContent = "";
      for (const step of advice.steps || []) {
        const li = document.createElement("li");
        li.appendChild(document.createTextNode(step.text));
        if (step.command) {
          const pre = document.createElement("pre");
          const code = document.createElement("code");
          code.textContent = step.command;
          pre.appendChild(code);
          li.appendChild(pre);
        }
        list.appendChild(li);
      }
      show("result-advice", true);
    } catch (e) {
      // the stored result above stays; the plain-words part is an extra
    }
  }

  function parseParamsRaw(fragment) {
    let s = fragment;
    const q = s.indexOf("?");
    if (q >= 0) s = s.slice(q + 1);
    return s;
  }

  async function main() {
    const root = document.getElementById("fragment-intake");
    if (!root) return;
    const fragment = window.location.hash.slice(1);
    if (!fragment) {
      show("fragment-empty", true);
      return;
    }
    show("fragment-working", true);
    try {
      const r = await decodeFragment(fragment);
      if (!r.text.trim()) {
        // Nothing readable came out (a damaged legacy link): do not ask for consent to a log
        // of 0 characters; offer to send the link itself, saying what it holds.
        throw fail("no kernel log text could be recovered from the link" +
          (r.error ? " (" + r.error + ")" : ""));
      }
      setText("frag-arch", r.arch || "unknown");
      setText("frag-kernel", r.kernel || "unknown");
      if (r.distro) {
        setText("frag-distro", r.distro);
        show("frag-distro-row", true);
      }
      setText("frag-encoding", r.encoding === "z" ? "z= (v6.15+)" : "zl= (v6.12–v6.14)");
      setText("frag-size", r.data.length + " bytes compressed, " + r.text.length + " characters");
      setText("frag-text", r.text);
      if (!r.complete) {
        setText("frag-warning", "The compressed data is damaged at its end (" + r.error +
          "); the text shown may be incomplete.");
        show("frag-warning", true);
      }
      show("fragment-working", false);
      show("fragment-decoded", true);
      show("fragment-log", true);
      document.getElementById("submit-fragment").addEventListener("click", function () {
        submit(fragment, "submit-fragment");
      });
    } catch (e) {
      show("fragment-working", false);
      setText("frag-error", String((e && e.message) || e));
      setText("frag-undecoded-summary", undecodedSummary(fragment));
      show("fragment-error", true);
      document.getElementById("submit-undecoded").addEventListener("click", function () {
        submit(fragment, "submit-undecoded");
      });
    }
  }

  window.KpanicPanic = {
    fido2ToBytes: fido2ToBytes,
    legacyToBytes: legacyToBytes,
    inflate: inflate,
    parseParams: parseParams,
    decodeFragment: decodeFragment,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
