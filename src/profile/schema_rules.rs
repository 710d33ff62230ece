//! The rules the derived JSON Schema cannot get from the spec types alone, added so that an
//! editor or check-jsonschema rejects what the tool rejects wherever draft-07 can say it:
//! the identity constants, string grammars, the Sentinel count and quorum pairs, and the
//! cross-field rules (as `if` / `then` over the values a field can take). The structural check
//! of `shape` reads only types, ranges and lengths; `validate` keeps the rules with the
//! better messages, and `tests/it/schema.rs` proves on every file of `tests/bad` that the two
//! agree, listing what only the tool can check.

use serde_json::{Value, json};

use crate::profile::bounds::{
    MAX_DOWN_AFTER_MS, MAX_REDIS_REPLICAS, MAX_SENTINELS, MIN_DOWN_AFTER_MS,
};
use crate::profile::defaults::{self, SHUTDOWN_RESERVE_SECONDS};
use crate::profile::grammar;
use crate::profile::spec::{API_VERSION, KIND};

/// The longest `namePrefix`: `<prefix>redis-sentinel` must fit a StatefulSet name (52, its
/// pods' `controller-revision-hash` label being `<name>-<10 characters>`).
pub const MAX_NAME_PREFIX: usize = 52 - "redis-sentinel".len();

/// Tags naming a Redis older than 7.0.8 (`6.2`, `7.0.5-alpine`): the version check of
/// `validate`, as a pattern the image must not match.
const OLD_REDIS_TAG: &str = r":(?:[0-6]|7\.0\.[0-7])(?:\.[0-9]+)*(?:-[A-Za-z0-9_.-]*)?(?:@.*)?$";

/// A storage or memory size: a quantity of whole bytes (no `m`, no negative exponent).
const BYTES: &str = r"^\+?[0-9]+(?:\.[0-9]*)?(?:[KMGTPE]i|[kMGTPE]|[eE]\+?[0-9]+)?$";

/// A scrape interval: a positive number of seconds, minutes or hours.
const INTERVAL: &str = r"^0*[1-9][0-9]*[smh]$";

/// A path relative to the output directory.
const RELATIVE_PATH: &str = r"^[A-Za-z0-9._-][A-Za-z0-9._/-]*$";

/// A Kubernetes kind.
const KIND_NAME: &str = r"^[A-Z][A-Za-z0-9]*$";

// The rules against defaults assume the defaults are within the bounds.
const _: () = assert!(defaults::DEFAULT_DOWN_AFTER >= MIN_DOWN_AFTER_MS);
const _: () = assert!(defaults::DEFAULT_FAILOVER_TIMEOUT <= MAX_DOWN_AFTER_MS);

/// Add every rule to `schema`, the draft-07 schema schemars derived from `Profile`.
pub fn apply(schema: &mut Value) {
    apply_structural(schema);
    let strings: [(&str, Value); 22] = [
        ("/definitions/Metadata/properties/name", label()),
        ("/definitions/Metadata/properties/namespace", label()),
        (
            "/definitions/Spec/properties/masterName",
            json!({"pattern": grammar::MASTER_NAME}),
        ),
        (
            "/definitions/Spec/properties/image",
            json!({"pattern": grammar::IMAGE, "not": {"pattern": OLD_REDIS_TAG}}),
        ),
        (
            "/definitions/Spec/properties/namePrefix",
            json!({"pattern": "^(?:[a-z][-a-z0-9]*)?$", "maxLength": MAX_NAME_PREFIX}),
        ),
        ("/definitions/Spec/properties/clusterDomain", subdomain()),
        ("/definitions/Auth/properties/secretName", subdomain()),
        (
            "/definitions/Auth/properties/secretKey",
            json!({"pattern": grammar::SECRET_KEY, "maxLength": 253}),
        ),
        (
            "/definitions/Storage/properties/size",
            json!({"pattern": BYTES}),
        ),
        (
            "/definitions/Storage/properties/storageClassName",
            subdomain(),
        ),
        (
            "/definitions/ResourceAmounts/properties/cpu",
            json!({"pattern": grammar::QUANTITY}),
        ),
        (
            "/definitions/ResourceAmounts/properties/memory",
            json!({"pattern": BYTES}),
        ),
        (
            "/definitions/Monitoring/properties/exporterImage",
            json!({"pattern": grammar::IMAGE}),
        ),
        (
            "/definitions/Monitoring/properties/interval",
            json!({"pattern": INTERVAL}),
        ),
        (
            "/definitions/NetworkPolicySpec/properties/monitoringNamespace",
            label(),
        ),
        (
            "/definitions/Backup/properties/schedule",
            json!({"pattern": cron_pattern()}),
        ),
        ("/definitions/Client/properties/name", subdomain()),
        ("/definitions/Client/properties/container", label()),
        (
            "/definitions/Migration/properties/base",
            json!({"pattern": RELATIVE_PATH}),
        ),
        (
            "/definitions/ObjectRef/properties/kind",
            json!({"pattern": KIND_NAME}),
        ),
        ("/definitions/ObjectRef/properties/name", subdomain()),
        ("/definitions/Endpoint/properties/host", subdomain()),
    ];
    for (pointer, keywords) in strings {
        extend(schema, pointer, keywords);
    }
    let odd: Vec<Value> = (1..=MAX_SENTINELS)
        .step_by(2)
        .map(Value::from)
        .chain([Value::Null])
        .collect();
    extend(
        schema,
        "/definitions/SentinelSpec/properties/replicas",
        json!({"enum": odd}),
    );
    extend(
        schema,
        "/definitions/SentinelSpec",
        json!({"allOf": sentinel_rules()}),
    );
    extend(
        schema,
        "/definitions/RedisSpec",
        json!({"allOf": redis_rules()}),
    );
    extend(
        schema,
        "/definitions/Persistence",
        json!({"allOf": [persistence_rule()]}),
    );
    extend(schema, "/definitions/Spec", json!({"allOf": spec_rules()}));
}

/// Merge `keywords` into the schema object at `pointer`.
/// Add only the rules the structural walk of `shape` reads: the identity constants (a
/// mapping or list written as `apiVersion` is "expected one of …"). Every other rule here is a
/// pattern, length, `enum` or `allOf` of `if`/`then`, which the walk does not read; the shape
/// tests prove that walking this schema finds exactly what walking the whole one finds.
pub fn apply_structural(schema: &mut Value) {
    extend(
        schema,
        "/properties/apiVersion",
        json!({"const": API_VERSION}),
    );
    extend(schema, "/properties/kind", json!({"const": KIND}));
}

fn extend(schema: &mut Value, pointer: &str, keywords: Value) {
    let target = schema
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| unreachable!("the derived schema has {pointer}"));
    if let Value::Object(keywords) = keywords {
        target.extend(keywords);
    }
}

fn label() -> Value {
    json!({"pattern": grammar::DNS_LABEL})
}

fn subdomain() -> Value {
    json!({"pattern": grammar::DNS_SUBDOMAIN, "maxLength": 253})
}

/// `{properties: {name: schema}}`: holds when `name` is absent too.
fn property(name: &str, schema: Value) -> Value {
    json!({"properties": {name: schema}})
}

/// Holds when `name` is written (and not null) with `schema`.
fn written(name: &str, schema: Value) -> Value {
    json!({"properties": {name: schema}, "required": [name], "not": property(name, json!({"type": "null"}))})
}

/// Holds when `name` is absent or null, i.e. left at its default.
fn defaulted(name: &str) -> Value {
    property(name, json!({"type": "null"}))
}

/// The quorum is the majority of the Sentinels, written or defaulted (3).
fn sentinel_rules() -> Vec<Value> {
    let quorum_for = |n: u32| json!({"enum": [defaults::quorum_for(n), null]});
    let mut rules: Vec<Value> = (1..=MAX_SENTINELS)
        .step_by(2)
        .map(|n| {
            json!({
                "if": written("replicas", json!({"const": n})),
                "then": property("quorum", quorum_for(n)),
            })
        })
        .collect();
    rules.push(json!({
        "if": defaulted("replicas"),
        "then": property("quorum", quorum_for(defaults::DEFAULT_SENTINEL_REPLICAS)),
    }));
    // failoverTimeout > downAfterMilliseconds can only be said against a default.
    rules.push(json!({
        "if": defaulted("failoverTimeout"),
        "then": property(
            "downAfterMilliseconds",
            json!({"maximum": defaults::DEFAULT_FAILOVER_TIMEOUT - 1}),
        ),
    }));
    rules.push(json!({
        "if": defaulted("downAfterMilliseconds"),
        "then": property(
            "failoverTimeout",
            json!({"minimum": defaults::DEFAULT_DOWN_AFTER + 1}),
        ),
    }));
    rules
}

/// min-replicas-max-lag 0 turns min-replicas-to-write off, so it needs an explicit 0 there.
fn redis_rules() -> Vec<Value> {
    vec![json!({
        "if": written("minReplicasMaxLag", json!({"const": 0})),
        "then": written("minReplicasToWrite", json!({"const": 0})),
    })]
}

/// No RDB and no AOF needs `acknowledgeDataLossOnRestart: true`.
fn persistence_rule() -> Value {
    json!({
        "if": {
            "properties": {
                "rdb": {"maxItems": 0},
                "aof": written("enabled", json!({"const": false})),
            },
            "required": ["rdb", "aof"],
        },
        "then": written("acknowledgeDataLossOnRestart", json!({"const": true})),
    })
}

/// Policies on with no `spec.clients` need the labels of the pods they admit (the clients'
/// patches add a label of their own, which the policies admit).
fn network_policy_rule() -> Value {
    json!({
        "if": {
            "properties": {
                "networkPolicy": {
                    "type": "object",
                    "not": written("enabled", json!({"const": false})),
                },
                "clients": {"maxItems": 0},
            },
            "required": ["networkPolicy"],
        },
        "then": property(
            "networkPolicy",
            written("clientPodLabels", json!({"minProperties": 1})),
        ),
    })
}

/// Rules across sections: one Sentinel only in development; parallelSyncs and
/// minReplicasToWrite within the Redis replicas (one `if` per replica count); the grace
/// period against the default failover timeout.
fn spec_rules() -> Vec<Value> {
    let mut rules = vec![
        json!({
            "if": written("sentinel", written("replicas", json!({"const": 1}))),
            "then": written("development", json!({"const": true})),
        }),
        network_policy_rule(),
    ];
    let within = |replicas: u32| {
        json!({
            "properties": {
                "sentinel": property("parallelSyncs", json!({"maximum": replicas})),
                "redis": property("minReplicasToWrite", json!({"maximum": replicas - 1})),
            }
        })
    };
    for replicas in 1..=MAX_REDIS_REPLICAS {
        rules.push(json!({
            "if": written("redis", written("replicas", json!({"const": replicas}))),
            "then": within(replicas),
        }));
    }
    rules.push(json!({
        "if": {"not": written("redis", written("replicas", json!({"type": "integer"})))},
        "then": within(defaults::DEFAULT_REDIS_REPLICAS),
    }));
    rules.push(json!({
        "if": {"not": written("sentinel", written("failoverTimeout", json!({"type": "integer"})))},
        "then": property(
            "redis",
            property(
                "terminationGracePeriodSeconds",
                json!({"minimum": defaults::DEFAULT_FAILOVER_TIMEOUT.div_ceil(1000) + SHUTDOWN_RESERVE_SECONDS}),
            ),
        ),
    }));
    rules
}

/// The schedule grammar of `validate::cron` as a pattern: five fields of values within each
/// field's range (names in any case), `*` or `?`, ranges, lists and positive steps, or a
/// macro. Only the order of a range's ends is left to the tool.
fn cron_pattern() -> String {
    let fields: [(u32, u32, &[&str]); 5] = [
        (0, 59, &[]),
        (0, 23, &[]),
        (1, 31, &[]),
        (
            1,
            12,
            &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
        ),
        (0, 6, &["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
    ];
    let field = |(min, max, names): (u32, u32, &[&str])| {
        let mut values: Vec<String> = (min..=max).rev().map(|v| format!("0*{v}")).collect();
        values.extend(names.iter().map(|name| {
            name.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()))
                .collect::<String>()
        }));
        let value = format!("(?:{})", values.join("|"));
        let part = format!(r"(?:\*|\?|{value}(?:-{value})?)(?:/0*[1-9][0-9]*)?");
        format!("{part}(?:,{part})*")
    };
    let fields: Vec<String> = fields.into_iter().map(field).collect();
    format!(
        "^(?:@(?:yearly|annually|monthly|weekly|daily|midnight|hourly)|{})$",
        fields.join("[ \\t]+")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn the_cron_pattern_agrees_with_the_cron_check() {
        let pattern = Regex::new(&cron_pattern()).unwrap_or_else(|e| panic!("{e}"));
        for good in [
            "17 3 * * *",
            "*/15 * * * *",
            "0 0-23/2 * * MON-fri",
            "5,35 1 1 jan ?",
            "@daily",
        ] {
            assert!(pattern.is_match(good), "{good}");
        }
        for bad in [
            "99 99 99 99 99",
            "*/0 * * * *",
            "- - - - -",
            "0 0 * * 7",
            "* * * *",
            "@every 1h",
        ] {
            assert!(!pattern.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn old_redis_tags_match_and_new_ones_do_not() {
        let old = Regex::new(OLD_REDIS_TAG).unwrap_or_else(|e| panic!("{e}"));
        for tag in [
            "redis:6.2",
            "redis:7.0.5",
            "redis:6.2.14-alpine",
            "redis:6",
            "r.io:5000/redis:7.0.7",
        ] {
            assert!(old.is_match(tag), "{tag}");
        }
        for tag in [
            "redis:7.0.8",
            "redis:7.2.5-alpine",
            "redis:7",
            "redis:7.0",
            "redis:10.0.1",
            "redis",
            "r.io:5000/redis",
        ] {
            assert!(!old.is_match(tag), "{tag}");
        }
    }
}
