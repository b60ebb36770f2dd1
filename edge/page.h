// The relay page: what GET / shows a browser (Accept: text/html).
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"

namespace nostr::edge {

// Returns the HTML page for `config` (management overrides already applied):
// name, description, icon, `relay_url` with a copy button, and the NIP-11
// document `nip11_json` (relay_info_json's output) embedded for the page's
// script, which lists the NIPs and limits and polls GET /health for live
// counters. Every configured text is HTML-escaped and the script writes only
// textContent; the page loads nothing but its icon (the operator's URL).
// Borrows its arguments for the call only.
std::string relay_page(const RelayConfig& config, std::string_view relay_url,
                       std::string_view nip11_json);

// Returns the page's Content-Security-Policy: its own inline script and style
// (by sha256), fetches to its own origin, images from http(s) and data: URLs,
// nothing else.
std::string relay_page_csp();

// Returns `s` with & < > " ' replaced by character references (safe in text
// and in quoted attribute values).
std::string html_escape(std::string_view s);

}  // namespace nostr::edge
