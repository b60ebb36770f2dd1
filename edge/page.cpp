#include "edge/page.h"

#include "core/sha256.h"

namespace nostr::edge {
namespace {

// The page's only style and script. The CSP allows exactly these bytes (by
// hash), so an injected element could not run even if escaping failed.
constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--fg:#1d1d22;--bg:#f6f6f8;--card:#fff;--muted:#6b6b76;--accent:#6b3fd4;--line:#e2e2e8}
@media (prefers-color-scheme:dark){:root{--fg:#ececf1;--bg:#15151a;--card:#1f1f26;--muted:#9a9aa6;--accent:#a88bff;--line:#2e2e38}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:760px;margin:0 auto;padding:32px 20px}
header{display:flex;gap:20px;align-items:center;margin-bottom:24px}
#icon{width:72px;height:72px;border-radius:16px;object-fit:cover;flex:none}
h1{margin:0;font-size:2rem;overflow-wrap:anywhere}
#description{margin:4px 0 0;color:var(--muted);white-space:pre-line;overflow-wrap:anywhere}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 20px;margin:16px 0}
h2{margin:0 0 12px;font-size:1.1rem}
.url{display:flex;gap:8px;align-items:center}
#relay-url{flex:1;padding:8px 12px;border:1px solid var(--line);border-radius:8px;overflow-wrap:anywhere;font:15px ui-monospace,monospace}
button{font:inherit;padding:8px 16px;border:0;border-radius:8px;background:var(--accent);color:#fff;cursor:pointer}
#status{font-size:.85rem;font-weight:normal;color:var(--muted);margin-left:8px}
#live[data-state=ok] #status::before{content:"\25CF  ";color:#2e9d5b}
#live[data-state=error] #status::before{content:"\25CF  ";color:#d14343}
.counters{display:grid;grid-template-columns:repeat(3,1fr);gap:12px;margin:0}
.counters div{padding:8px 0}
dt{color:var(--muted);font-size:.85rem}
dd{margin:0;font-size:1.6rem;font-variant-numeric:tabular-nums}
#nips{display:flex;flex-wrap:wrap;gap:8px;list-style:none;margin:0;padding:0}
#nips a{display:block;padding:4px 10px;border:1px solid var(--line);border-radius:999px;color:var(--accent);text-decoration:none}
table{border-collapse:collapse;width:100%}
th,td{padding:4px 0;border-bottom:1px solid var(--line);text-align:left;font-weight:normal}
td{text-align:right;font-variant-numeric:tabular-nums}
footer{color:var(--muted);font-size:.85rem;text-align:center;overflow-wrap:anywhere}
)css";

// Lists NIPs and limits from the embedded NIP-11 document, wires the copy
// button, and polls GET /health. Writes text only through textContent.
constexpr std::string_view kScript = R"js(
(() => {
  const $ = (id) => document.getElementById(id);
  const add = (parent, tag, text) => {
    const e = document.createElement(tag);
    e.textContent = text;
    parent.append(e);
    return e;
  };
  const info = JSON.parse($('nip11').textContent);
  for (const n of info.supported_nips || []) {
    const num = String(n).padStart(2, '0');
    const a = add(add($('nips'), 'li', ''), 'a', 'NIP-' + num);
    a.href = 'https://github.com/nostr-protocol/nips/blob/master/' + num + '.md';
  }
  for (const [k, v] of Object.entries(info.limitation || {})) {
    const tr = add($('limits'), 'tr', '');
    add(tr, 'th', k.replaceAll('_', ' '));
    add(tr, 'td', typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));
  }
  const copy = $('copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('relay-url').textContent);
      copy.textContent = 'Copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents($('relay-url'));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      copy.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { copy.textContent = 'Copy'; }, 2000);
  });
  const live = $('live');
  async function poll() {
    try {
      const h = await (await fetch('/health', { cache: 'no-store' })).json();
      for (const k of ['connections', 'subscriptions', 'events_accepted']) {
        if (Number.isFinite(h[k])) $(k).textContent = h[k].toLocaleString('en');
      }
      live.dataset.state = h.ok ? 'ok' : 'error';
      $('status').textContent = h.ok ? 'online' : 'degraded: ' + (h.error || 'unknown');
    } catch {
      live.dataset.state = 'error';
      $('status').textContent = 'unreachable';
    }
    setTimeout(poll, 5000);
  }
  poll();
})();
)js";

std::string base64(const Digest32& d) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= d.size(); i += 3) {
    const uint32_t v = (uint32_t{d[i]} << 16) | (uint32_t{d[i + 1]} << 8) | d[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  // 32 bytes: two left over, one '=' of padding.
  const uint32_t v = (uint32_t{d[i]} << 16) | (uint32_t{d[i + 1]} << 8);
  out += kAlphabet[(v >> 18) & 63];
  out += kAlphabet[(v >> 12) & 63];
  out += kAlphabet[(v >> 6) & 63];
  out += '=';
  return out;
}

// Appends JSON for a <script type="application/json"> element: '<' only
// occurs inside JSON strings, where \u003c means the same, so no "</script"
// or "<!--" can end or confuse the element.
void append_script_json(std::string& out, std::string_view json) {
  for (const char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string relay_page_csp() {
  return "default-src 'none'; script-src 'sha256-" + base64(sha256(kScript)) +
         "'; style-src 'sha256-" + base64(sha256(kStyle)) +
         "'; img-src https: http: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
         "frame-ancestors 'none'";
}

std::string relay_page(const RelayConfig& config, std::string_view relay_url,
                       std::string_view nip11_json) {
  const std::string name = html_escape(config.name);
  std::string out;
  out.reserve(kStyle.size() + kScript.size() + nip11_json.size() + 2048);
  out +=
      "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  out += name;
  out += "</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<main>\n<header>\n";
  if (!config.icon.empty()) {
    out += "<img id=\"icon\" src=\"" + html_escape(config.icon) + "\" alt=\"\">\n";
  }
  out += "<div><h1 id=\"name\">" + name + "</h1>\n<p id=\"description\">" +
         html_escape(config.description) + "</p></div>\n</header>\n";
  out += "<section>\n<h2>Connect</h2>\n<div class=\"url\"><code id=\"relay-url\">" +
         html_escape(relay_url) +
         "</code><button id=\"copy\" type=\"button\">Copy</button></div>\n</section>\n";
  out +=
      "<section id=\"live\" data-state=\"loading\">\n<h2>Live<span "
      "id=\"status\">loading</span></h2>\n"
      "<dl class=\"counters\">\n"
      "<div><dt>Connections</dt><dd id=\"connections\">-</dd></div>\n"
      "<div><dt>Subscriptions</dt><dd id=\"subscriptions\">-</dd></div>\n"
      "<div><dt>Events accepted</dt><dd id=\"events_accepted\">-</dd></div>\n"
      "</dl>\n</section>\n"
      "<section>\n<h2>Supported NIPs</h2>\n<ul id=\"nips\"></ul>\n</section>\n"
      "<section>\n<h2>Limits</h2>\n<table id=\"limits\"></table>\n</section>\n";
  out += "<footer>" + html_escape(config.software) + " " + html_escape(config.version);
  if (!config.contact.empty()) out += " &middot; contact: " + html_escape(config.contact);
  out += "</footer>\n</main>\n<script type=\"application/json\" id=\"nip11\">";
  append_script_json(out, nip11_json);
  out += "</script>\n<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace nostr::edge
