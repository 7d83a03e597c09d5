//! A JSON Schema checker for the keywords docs/api/*.schema.json use (type, required,
//! properties, additionalProperties, items, enum, minimum, exclusiveMinimum, minLength,
//! maxLength, maxItems, and `$ref` to `#/$defs/...` in the same file or a sibling file); a
//! keyword it does not know fails the check, so that the schema cannot say more than is checked.

use serde_json::Value;
use std::path::Path;

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "maxLength",
    "maxItems",
];

/// Every way `value` breaks the schema in `file` (under `dir`), as `path: what`.
pub fn check(dir: &Path, file: &str, value: &Value) -> Vec<String> {
    let schema = load(dir, file);
    let mut errors = Vec::new();
    walk(dir, file, &schema, &schema, value, "$", &mut errors);
    errors
}

fn load(dir: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn walk(
    dir: &Path,
    file: &str,
    root: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    let Some(schema) = schema.as_object() else {
        errors.push(format!("{at}: the schema is not an object"));
        return;
    };
    for key in schema.keys() {
        if !KNOWN.contains(&key.as_str()) {
            errors.push(format!("{at}: schema keyword `{key}` is not checked here"));
        }
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let (other, pointer) = reference.split_once('#').unwrap();
        let (file, root) = if other.is_empty() {
            (file.to_owned(), root.clone())
        } else {
            (other.to_owned(), load(dir, other))
        };
        let target = root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {reference}"));
        walk(dir, &file, &root, target, value, at, errors);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "number" => value.is_number(),
            "integer" => value.is_u64() || value.is_i64(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            errors.push(format!("{at}: {value} is not of type {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push(format!("{at}: {n} < {min}"));
        }
        if let Some(min) = schema.get("exclusiveMinimum").and_then(Value::as_f64)
            && n <= min
        {
            errors.push(format!("{at}: {n} <= {min}"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| len < m)
            || schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| len > m)
        {
            errors.push(format!("{at}: {s:?} has a length out of bounds"));
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > max
        {
            errors.push(format!("{at}: {} items, more than {max}", items.len()));
        }
        if let Some(item) = schema.get("items") {
            for (i, v) in items.iter().enumerate() {
                walk(dir, file, root, item, v, &format!("{at}[{i}]"), errors);
            }
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !object.contains_key(name.as_str().unwrap_or_default()) {
                errors.push(format!("{at}: `{name}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, v) in object {
            let at = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                schema.get("additionalProperties"),
            ) {
                (Some(property), _) => walk(dir, file, root, property, v, &at, errors),
                (None, Some(Value::Bool(false))) => {
                    errors.push(format!("{at}: not in the schema"));
                }
                (None, Some(other @ Value::Object(_))) => {
                    walk(dir, file, root, other, v, &at, errors)
                }
                (None, _) => {}
            }
        }
    }
}
