/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * The WebSocket upgrade (RFC 6455 §4.2): the HTTP/1.1 request, parsed by
 * libhttp-parser as it arrives in pieces, and its answer, 101 Switching
 * Protocols or an HTTP error. Only the headers that decide the upgrade are
 * kept; the object is freed once the request is answered. No I/O: the
 * frame codec (ws-frame.c) feeds it and writes the answer.
 */

#include "config.h"

#include <assert.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <http_parser.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "common/xmalloc.h"

#include "worker/ws.h"

#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_GUID_LEN		(sizeof WS_GUID - 1)
#define WS_KEY_LEN		24	/* base64 of 16 bytes */
#define WS_ACCEPT_LEN		28	/* base64 of a SHA-1 digest */
#define WS_HTTP_NAME_MAX	32
#define WS_HTTP_VALUE_MAX	256

/* The request headers that matter; the others are skipped. */
enum ws_header {
	WS_HEADER_OTHER,
	WS_HEADER_UPGRADE,
	WS_HEADER_CONNECTION,
	WS_HEADER_VERSION,
	WS_HEADER_KEY,
	WS_HEADER_TRANSFER_ENCODING,
};

/* What the request headers said (ws_http.seen). */
#define WS_SEEN_UPGRADE		0x001	/* an Upgrade header */
#define WS_SEEN_UPGRADE_WS	0x002	/* ... naming websocket */
#define WS_SEEN_CONN_UPGRADE	0x004	/* Connection has "upgrade" */
#define WS_SEEN_VERSION		0x008	/* a Sec-WebSocket-Version */
#define WS_SEEN_VERSION_13	0x010	/* ... saying 13 */
#define WS_SEEN_KEY		0x020	/* a Sec-WebSocket-Key */
#define WS_SEEN_KEY_OK		0x040	/* ... of 16 bytes in base64 */
#define WS_SEEN_BODY		0x080	/* the request has a body */
#define WS_SEEN_BAD		0x100	/* one of these too long or
					 * repeated */

/* The upgrade request being read; freed once it is answered. */
struct ws_http {
	http_parser	 parser;
	size_t		 max;		/* largest request */
	size_t		 size;		/* request bytes parsed */
	char		*url;		/* request target, with a NUL */
	size_t		 url_len;
	unsigned int	 seen;		/* WS_SEEN_* */
	enum ws_header	 header;	/* whose value is being read */
	bool		 in_value;
	bool		 value_long;	/* did not fit <value> */
	bool		 done;		/* the request is complete */
	size_t		 name_len;	/* > WS_HTTP_NAME_MAX: too long */
	size_t		 value_len;
	char		 name[WS_HTTP_NAME_MAX];
	char		 value[WS_HTTP_VALUE_MAX];
	char		 key[WS_KEY_LEN + 1];
};

static int	 ws_http_on_url(http_parser *, const char *, size_t);
static int	 ws_http_on_header_field(http_parser *, const char *, size_t);
static int	 ws_http_on_header_value(http_parser *, const char *, size_t);
static int	 ws_http_on_headers_complete(http_parser *);
static int	 ws_http_on_message_complete(http_parser *);

static const http_parser_settings ws_http_settings = {
	.on_url = ws_http_on_url,
	.on_header_field = ws_http_on_header_field,
	.on_header_value = ws_http_on_header_value,
	.on_headers_complete = ws_http_on_headers_complete,
	.on_message_complete = ws_http_on_message_complete,
};

void
ws_accept_key(const char *key, size_t key_len, char *out)
{
	unsigned char	 md[SHA_DIGEST_LENGTH];
	unsigned char	 stack[64 + WS_GUID_LEN];
	unsigned char	*buf = stack;

	if (key_len > sizeof stack - WS_GUID_LEN) {
		buf = xmalloc(key_len + WS_GUID_LEN);
	}
	memcpy(buf, key, key_len);
	memcpy(buf + key_len, WS_GUID, WS_GUID_LEN);
	SHA1(buf, key_len + WS_GUID_LEN, md);
	if (buf != stack) {
		free(buf);
	}
	sodium_bin2base64(out, WS_ACCEPT_LEN + 1, md, sizeof md,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Drops the optional white space around a header value. */
static void
ws_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) {
		(*len)--;
	}
}

/* True if the comma-separated list <v> holds <token>, in any case. */
static bool
ws_token_list_has(const char *v, size_t len, const char *token)
{
	const char	*item, *comma;
	size_t		 item_len, tlen = strlen(token);

	while (len > 0) {
		comma = memchr(v, ',', len);
		item = v;
		item_len = comma != NULL ? (size_t)(comma - v) : len;
		v += item_len;
		len -= item_len;
		if (comma != NULL) {
			v++;
			len--;
		}
		ws_trim(&item, &item_len);
		if (item_len == tlen && strncasecmp(item, token, tlen) == 0) {
			return true;
		}
	}
	return false;
}

static enum ws_header
ws_http_header_kind(const char *name, size_t len)
{
	static const struct {
		const char	*name;
		enum ws_header	 header;
	} headers[] = {
		{ "upgrade", WS_HEADER_UPGRADE },
		{ "connection", WS_HEADER_CONNECTION },
		{ "sec-websocket-version", WS_HEADER_VERSION },
		{ "sec-websocket-key", WS_HEADER_KEY },
		{ "transfer-encoding", WS_HEADER_TRANSFER_ENCODING },
	};
	size_t	 i;

	for (i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		if (strlen(headers[i].name) == len &&
		    strncasecmp(headers[i].name, name, len) == 0) {
			return headers[i].header;
		}
	}
	return WS_HEADER_OTHER;
}

/* A header line ended: records what its value says. */
static void
ws_http_header_end(struct ws_http *h)
{
	const char	*v = h->value;
	size_t		 len = h->value_len;
	unsigned char	 bin[16];
	size_t		 bin_len;
	const char	*end;

	h->in_value = false;
	h->name_len = 0;
	if (h->header == WS_HEADER_OTHER) {
		return;
	}
	if (h->value_long) {
		h->seen |= WS_SEEN_BAD;
		return;
	}
	ws_trim(&v, &len);
	switch (h->header) {
	case WS_HEADER_UPGRADE:
		h->seen |= WS_SEEN_UPGRADE;
		if (ws_token_list_has(v, len, "websocket")) {
			h->seen |= WS_SEEN_UPGRADE_WS;
		}
		break;
	case WS_HEADER_CONNECTION:
		if (ws_token_list_has(v, len, "upgrade")) {
			h->seen |= WS_SEEN_CONN_UPGRADE;
		}
		break;
	case WS_HEADER_VERSION:
		if (h->seen & WS_SEEN_VERSION) {
			h->seen |= WS_SEEN_BAD;
		}
		h->seen |= WS_SEEN_VERSION;
		if (len == 2 && memcmp(v, "13", 2) == 0) {
			h->seen |= WS_SEEN_VERSION_13;
		}
		break;
	case WS_HEADER_KEY:
		if (h->seen & WS_SEEN_KEY) {
			h->seen |= WS_SEEN_BAD;
		}
		h->seen |= WS_SEEN_KEY;
		if (len == WS_KEY_LEN && sodium_base642bin(bin, sizeof bin,
		    v, len, NULL, &bin_len, &end,
		    sodium_base64_VARIANT_ORIGINAL) == 0 &&
		    bin_len == sizeof bin && end == v + len) {
			memcpy(h->key, v, len);
			h->key[len] = '\0';
			h->seen |= WS_SEEN_KEY_OK;
		}
		break;
	case WS_HEADER_TRANSFER_ENCODING:
		h->seen |= WS_SEEN_BODY;
		break;
	case WS_HEADER_OTHER:
		break;
	}
}

static int
ws_http_on_url(http_parser *p, const char *at, size_t len)
{
	struct ws_http	*h = p->data;

	h->url = xrealloc(h->url, h->url_len + len + 1);
	memcpy(h->url + h->url_len, at, len);
	h->url_len += len;
	h->url[h->url_len] = '\0';
	return 0;
}

/* Names and values may come in pieces when the request straddles feeds. */
static int
ws_http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct ws_http	*h = p->data;

	if (h->in_value) {
		ws_http_header_end(h);
	}
	if (h->name_len + len > WS_HTTP_NAME_MAX) {
		h->name_len = WS_HTTP_NAME_MAX + 1;
		return 0;
	}
	memcpy(h->name + h->name_len, at, len);
	h->name_len += len;
	return 0;
}

static int
ws_http_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct ws_http	*h = p->data;

	if (!h->in_value) {
		h->in_value = true;
		h->value_len = 0;
		h->value_long = false;
		h->header = h->name_len > WS_HTTP_NAME_MAX ? WS_HEADER_OTHER :
		    ws_http_header_kind(h->name, h->name_len);
	}
	if (h->header == WS_HEADER_OTHER || h->value_long) {
		return 0;
	}
	if (h->value_len + len > sizeof h->value) {
		h->value_long = true;
		return 0;
	}
	memcpy(h->value + h->value_len, at, len);
	h->value_len += len;
	return 0;
}

/* Asks the parser to skip any body: a body is refused once it stops. */
static int
ws_http_on_headers_complete(http_parser *p)
{
	struct ws_http	*h = p->data;

	if (h->in_value) {
		ws_http_header_end(h);
	}
	if ((p->flags & F_CHUNKED) ||
	    (p->content_length > 0 && p->content_length != ULLONG_MAX)) {
		h->seen |= WS_SEEN_BODY;
	}
	return 1;
}

/* Stops the parser right after the request: what follows is frames. */
static int
ws_http_on_message_complete(http_parser *p)
{
	struct ws_http	*h = p->data;

	h->done = true;
	http_parser_pause(p, 1);
	return 0;
}

/*
 * Refuses the request with an HTTP error and a short text body; the
 * connection is to be closed once it is written.
 */
static int
ws_http_reject(struct ws_http *h, struct ws_http_answer *ret, int status,
    const char *reason, const char *headers, const char *why)
{
	int	 n;

	n = snprintf(ret->text, sizeof ret->text, "HTTP/1.1 %d %s\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n"
	    "%s\n", status, reason, headers, strlen(reason) + 1, reason);
	assert(n > 0 && (size_t)n < sizeof ret->text);
	ret->len = (size_t)n;
	ret->why = why;
	return WS_HTTP_REJECT;
}

/* The request is complete: upgrades or refuses. */
static int
ws_http_answer(struct ws_http *h, struct ws_http_answer *ret)
{
	http_parser	*p = &h->parser;
	char		 accept[WS_ACCEPT_LEN + 1];
	int		 n;

	if (p->method != HTTP_GET) {
		return ws_http_reject(h, ret, 405, "Method Not Allowed",
		    "Allow: GET\r\n", "HTTP method is not GET");
	}
	if (p->http_major < 1 || (p->http_major == 1 && p->http_minor < 1)) {
		return ws_http_reject(h, ret, 400, "Bad Request", "",
		    "HTTP version older than 1.1");
	}
	if (h->seen & (WS_SEEN_BAD | WS_SEEN_BODY)) {
		return ws_http_reject(h, ret, 400, "Bad Request", "",
		    "bad upgrade request header or body");
	}
	if (!(h->seen & WS_SEEN_UPGRADE)) {
		return ws_http_reject(h, ret, 426, "Upgrade Required",
		    "Upgrade: websocket\r\n", "not a WebSocket request");
	}
	if (!(h->seen & WS_SEEN_UPGRADE_WS) ||
	    !(h->seen & WS_SEEN_CONN_UPGRADE)) {
		return ws_http_reject(h, ret, 400, "Bad Request", "",
		    "bad Upgrade or Connection header");
	}
	if (!(h->seen & WS_SEEN_VERSION_13)) {
		return ws_http_reject(h, ret, 426, "Upgrade Required",
		    "Sec-WebSocket-Version: 13\r\n",
		    "unsupported WebSocket version");
	}
	if (!(h->seen & WS_SEEN_KEY_OK)) {
		return ws_http_reject(h, ret, 400, "Bad Request", "",
		    "bad Sec-WebSocket-Key");
	}

	ws_accept_key(h->key, WS_KEY_LEN, accept);
	n = snprintf(ret->text, sizeof ret->text,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", accept);
	assert(n > 0 && (size_t)n < sizeof ret->text);
	ret->len = (size_t)n;
	ret->path = h->url != NULL ? h->url : xstrdup("");
	h->url = NULL;
	return WS_HTTP_UPGRADE;
}

struct ws_http *
ws_http_create(size_t max_request)
{
	struct ws_http	*h;

	h = xcalloc(1, sizeof *h);
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
	h->max = max_request;
	return h;
}

void
ws_http_destroy(struct ws_http *h)
{
	if (h == NULL) {
		return;
	}
	free(h->url);
	free(h);
}

int
ws_http_feed(struct ws_http *h, const uint8_t *data, size_t len,
    size_t *ret_used, struct ws_http_answer *ret)
{
	size_t			 n, used;
	enum http_errno		 err;

	n = h->max - h->size;
	if (n > len) {
		n = len;
	}
	used = http_parser_execute(&h->parser, &ws_http_settings,
	    (const char *)data, n);
	h->size += used;
	*ret_used = used;
	if (h->done) {
		return ws_http_answer(h, ret);
	}
	err = HTTP_PARSER_ERRNO(&h->parser);
	if (err != HPE_OK) {
		return ws_http_reject(h, ret, 400, "Bad Request", "",
		    http_errno_description(err));
	}
	if (h->size >= h->max) {
		return ws_http_reject(h, ret, 431,
		    "Request Header Fields Too Large", "",
		    "upgrade request too large");
	}
	return WS_HTTP_MORE;
}

size_t
ws_http_memory(const struct ws_http *h)
{
	if (h == NULL) {
		return 0;
	}
	return malloc_usable_size((void *)h) + malloc_usable_size(h->url);
}
