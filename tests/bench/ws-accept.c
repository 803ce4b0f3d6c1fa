/* SPDX-License-Identifier: MIT */
/* Copyright (c) 2026 The shaddock authors */

/*
 * Sec-WebSocket-Accept: the client's key with the RFC 6455 GUID appended,
 * hashed with SHA-1 (OpenSSL's one-shot call) and base64-encoded.
 */

#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ws-accept.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_MAX	64

void
ws_accept_compute(const char *key, size_t key_len, char *out)
{
	unsigned char	 buf[WS_KEY_MAX + sizeof(WS_GUID)];
	unsigned char	 md[SHA_DIGEST_LENGTH];

	if (key_len > WS_KEY_MAX) {
		key_len = WS_KEY_MAX;
	}
	memcpy(buf, key, key_len);
	memcpy(buf + key_len, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1(buf, key_len + sizeof(WS_GUID) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}
