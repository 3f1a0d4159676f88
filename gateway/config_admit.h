/* The keys that say which connections a route admits: allow, deny and
 * proxy_from, max_children, max_per_source, on_busy and busy_message,
 * max_rate and max_rate_per_source. Each reads one line into the route;
 * config_keys.c's table names them. */
#ifndef GATEWAY_CONFIG_ADMIT_H
#define GATEWAY_CONFIG_ADMIT_H

struct key_line;

void config_admit_allow(struct key_line *l);
void config_admit_deny(struct key_line *l);
void config_admit_proxy_from(struct key_line *l);
void config_admit_max_children(struct key_line *l);
void config_admit_max_per_source(struct key_line *l);
void config_admit_on_busy(struct key_line *l);
void config_admit_busy_message(struct key_line *l);
void config_admit_max_rate(struct key_line *l);
void config_admit_max_rate_per_source(struct key_line *l);

#endif
