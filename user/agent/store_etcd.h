/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * store_etcd.h - the etcd store (store.h): v3 JSON gateway, HTTPS,
 * libcurl.  docs/design.md, "Agent and fleet".
 */
#ifndef ALPNSTEER_STORE_ETCD_H
#define ALPNSTEER_STORE_ETCD_H

#include "store.h"

extern const struct store_ops store_etcd;

#endif
