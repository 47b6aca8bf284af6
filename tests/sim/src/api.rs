//! The HTTP layer: authentication, routing, verbs, watches.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::Shared;
use crate::discovery;
use crate::objects::{self, ApiError, meta_str};
use crate::patch;
use crate::registry::ResourceType;
use crate::select::Selector;
use crate::store::{Change, Event, EventType, Key};

pub type Body = BoxBody<Bytes, Infallible>;

const JSON: &str = "application/json";
const DISCOVERY_V2: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub(crate) fn empty() -> Body {
    full(Bytes::new())
}

fn respond(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    respond(code, JSON, serde_json::to_vec(v).unwrap_or_default())
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.status())
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

struct Ctx {
    query: HashMap<String, String>,
    accept: String,
    content_type: String,
    user_agent: String,
    /// `Warning` headers for the response.
    warnings: std::sync::Mutex<Vec<String>>,
}

impl Ctx {
    fn q(&self, k: &str) -> Option<&str> {
        self.query
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1"))
    }
    fn dry_run(&self) -> bool {
        self.q("dryRun") == Some("All")
    }
    fn manager(&self, default_suffix: &str) -> String {
        self.q("fieldManager").map_or_else(
            || {
                let ua = self.user_agent.split('/').next().unwrap_or("").trim();
                if ua.is_empty() {
                    format!("unknown{default_suffix}")
                } else {
                    ua.to_owned()
                }
            },
            str::to_owned,
        )
    }
    /// Server-side field validation of a request body: Strict rejects
    /// unknown fields (400), Warn (the default) adds `Warning` headers.
    fn validate_fields(&self, rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
        let unknown = crate::fields::unknown(rt, obj);
        if unknown.is_empty() {
            return Ok(());
        }
        match self.q("fieldValidation").unwrap_or("Warn") {
            "Strict" => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field \"{f}\""))
                    .collect();
                Err(ApiError::bad_request(format!(
                    "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                    list.join(", "),
                    kind = rt.kind,
                    version = rt.version,
                )))
            }
            "Ignore" => Ok(()),
            _ => {
                let mut w = self.warnings.lock().expect("warnings lock");
                w.extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")));
                Ok(())
            }
        }
    }

    fn table(&self) -> bool {
        self.accept.contains("as=Table")
    }
}

pub async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    if matches!(segs.as_slice(), ["healthz" | "livez" | "readyz", ..]) {
        return respond(200, "text/plain; charset=utf-8", "ok");
    }
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == shared.token);
    if !authorized {
        return error_response(&ApiError::new(401, "Unauthorized", "Unauthorized"));
    }
    match shared.faults.before_request().await {
        crate::faults::Verdict::Serve => {}
        // Until the client gives up or the connections are dropped.
        crate::faults::Verdict::Hang => std::future::pending::<()>().await,
        crate::faults::Verdict::Fail(e, retry_after) => {
            let mut r = error_response(&e);
            if let Some(s) = retry_after
                && let Ok(v) = HeaderValue::from_str(&s.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    }
    if let ["api", "v1", "namespaces", ns, "pods", name, sub] = segs.as_slice()
        && crate::streams::is_stream(sub)
    {
        let (ns, name, sub) = ((*ns).to_owned(), (*name).to_owned(), (*sub).to_owned());
        return crate::streams::handle(shared, req, &ns, &name, &sub).await;
    }
    let header = |h: header::HeaderName| {
        req.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let ctx = Ctx {
        query: parse_query(req.uri().query()),
        accept: header(header::ACCEPT),
        content_type: header(header::CONTENT_TYPE),
        user_agent: header(header::USER_AGENT),
        warnings: std::sync::Mutex::default(),
    };
    let method = req.method().clone();
    let reg = &shared.registry;
    let aggregated = ctx.accept.contains("as=APIGroupDiscoveryList");
    let found = |v: Option<Value>| match v {
        Some(v) => json_response(200, &v),
        None => respond(404, "text/plain; charset=utf-8", "404 page not found\n"),
    };
    match (method.clone(), segs.as_slice()) {
        (Method::GET, ["version"]) => json_response(200, &discovery::version()),
        (Method::GET, ["api"]) if aggregated => respond(
            200,
            DISCOVERY_V2,
            serde_json::to_vec(&discovery::aggregated(reg, true)).unwrap_or_default(),
        ),
        (Method::GET, ["apis"]) if aggregated => respond(
            200,
            DISCOVERY_V2,
            serde_json::to_vec(&discovery::aggregated(reg, false)).unwrap_or_default(),
        ),
        (Method::GET, ["api"]) => {
            json_response(200, &discovery::api_versions(&shared.addr.to_string()))
        }
        (Method::GET, ["apis"]) => json_response(200, &discovery::api_group_list(reg)),
        (Method::GET, ["apis", g]) => found(discovery::api_group(reg, g)),
        (Method::GET, ["api", v]) => found(discovery::api_resource_list(reg, "", v)),
        (Method::GET, ["apis", g, v]) => found(discovery::api_resource_list(reg, g, v)),
        (Method::GET, ["openapi", "v3"]) => json_response(200, &discovery::openapi_root(reg)),
        (Method::GET, ["openapi", "v3", "api", v]) => found(discovery::openapi_gv(reg, "", v)),
        (Method::GET, ["openapi", "v3", "apis", g, v]) => found(discovery::openapi_gv(reg, g, v)),
        (_, ["api", v, rest @ ..]) => {
            let (v, rest) = (
                (*v).to_owned(),
                rest.iter().map(|s| (*s).to_owned()).collect(),
            );
            resource(&shared, ctx, method, "", &v, rest, req.into_body()).await
        }
        (_, ["apis", g, v, rest @ ..]) => {
            let (g, v) = ((*g).to_owned(), (*v).to_owned());
            let rest = rest.iter().map(|s| (*s).to_owned()).collect();
            resource(&shared, ctx, method, &g, &v, rest, req.into_body()).await
        }
        _ => respond(404, "text/plain; charset=utf-8", "404 page not found\n"),
    }
}

/// A request's resource, namespace, name and subresource.
struct Target {
    rt: ResourceType,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

impl Target {
    fn key(&self, name: &str) -> Key {
        (
            self.rt.storage_key(),
            self.namespace.clone().unwrap_or_default(),
            name.to_owned(),
        )
    }
}

fn parse_target(
    shared: &Shared,
    group: &str,
    version: &str,
    rest: &[String],
) -> Option<(Target, bool)> {
    let reg = &shared.registry;
    let (rest, legacy_watch) = match rest.split_first() {
        Some((w, r)) if w == "watch" => (r, true),
        _ => (rest, false),
    };
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && let Some(rt) = reg.find(group, version, &rest[2]).filter(|t| t.namespaced)
    {
        {
            return Some((
                Target {
                    rt,
                    namespace: Some(rest[1].clone()),
                    name: rest.get(3).cloned(),
                    sub: rest.get(4).cloned(),
                },
                legacy_watch,
            ));
        }
    }
    let rt = reg.find(group, version, rest.first()?)?;
    if rest.len() > 3 {
        return None;
    }
    Some((
        Target {
            rt,
            namespace: None,
            name: rest.get(1).cloned(),
            sub: rest.get(2).cloned(),
        },
        legacy_watch,
    ))
}

async fn read_json(body: Incoming, ctx: &Ctx) -> Result<Value, ApiError> {
    let bytes = body
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body failed: {e}")))?
        .to_bytes();
    let ct = ctx.content_type.split(';').next().unwrap_or("").trim();
    if ct == "application/vnd.kubernetes.protobuf" {
        return crate::proto::decode(&bytes)
            .map_err(|e| ApiError::new(415, "UnsupportedMediaType", e));
    }
    if ct.contains("yaml") || ct.contains("protobuf") || ct.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json (devloop-sim does not decode {ct})"
            ),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))
    })
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)] // the router: one arm per verb
async fn resource(
    shared: &Arc<Shared>,
    ctx: Ctx,
    method: Method,
    group: &str,
    version: &str,
    rest: Vec<String>,
    body: Incoming,
) -> Response<Body> {
    let Some((target, legacy_watch)) = parse_target(shared, group, version, &rest) else {
        return error_response(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    };
    if target.sub.as_deref() == Some("scale")
        && target.rt.scale()
        && let Some(name) = target.name.clone()
    {
        let bytes = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return error_response(&ApiError::bad_request(e.to_string())),
        };
        return match scale(shared, &ctx, &method, &target, &name, &bytes) {
            Ok(v) => json_response(200, &v),
            Err(e) => error_response(&e),
        };
    }
    if let Some(sub) = &target.sub
        && !(sub == "status" && target.rt.status)
    {
        return error_response(&ApiError::new(
            404,
            "NotFound",
            format!(
                "the server could not find the requested resource ({} {sub} is not simulated)",
                target.rt.plural
            ),
        ));
    }
    if target.rt.is_review() && !(method == Method::POST && target.name.is_none()) {
        return error_response(&ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{} only supports create", target.rt.plural),
        ));
    }
    let result = match (&method, &target.name) {
        (&Method::GET, None) if legacy_watch || ctx.flag("watch") => {
            return watch(shared, &ctx, &target);
        }
        (&Method::GET, Some(name)) if legacy_watch => {
            let mut ctx = ctx;
            let fs = ctx.q("fieldSelector").map(str::to_owned);
            let extra = format!("metadata.name={name}");
            ctx.query.insert(
                "fieldSelector".into(),
                fs.map_or(extra.clone(), |f| format!("{f},{extra}")),
            );
            let t = Target {
                name: None,
                ..target
            };
            return watch(shared, &ctx, &t);
        }
        (&Method::GET, None) => list(shared, &ctx, &target).map(|v| (200, v)),
        (&Method::GET, Some(name)) => get(shared, &ctx, &target, name).map(|v| (200, v)),
        (&Method::POST, None) => match read_json(body, &ctx).await {
            Ok(obj) => create(shared, &ctx, &target, obj).map(|v| (201, v)),
            Err(e) => Err(e),
        },
        (&Method::PUT, Some(name)) => match read_json(body, &ctx).await {
            Ok(obj) => update(shared, &ctx, &target, name, obj),
            Err(e) => Err(e),
        },
        (&Method::PATCH, Some(name)) => {
            let bytes = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => return error_response(&ApiError::bad_request(e.to_string())),
            };
            patch_object(shared, &ctx, &target, name, &bytes)
        }
        (&Method::DELETE, Some(name)) => {
            let opts = body
                .collect()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b.to_bytes()).ok())
                .unwrap_or(Value::Null);
            delete(shared, &ctx, &target, name, &opts).map(|v| (200, v))
        }
        (&Method::DELETE, None) => delete_collection(shared, &ctx, &target).map(|v| (200, v)),
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported here"),
        )),
    };
    match result {
        Ok((code, v)) => {
            let mut response = if ctx.table() && method == Method::GET {
                let include = ctx.q("includeObject").unwrap_or("Metadata");
                json_response(code, &to_table(shared, &target.rt, &v, include))
            } else {
                json_response(code, &v)
            };
            for w in ctx.warnings.lock().expect("warnings lock").iter() {
                let text = format!("299 - \"{}\"", w.replace('"', "\\\""));
                if let Ok(h) = HeaderValue::from_str(&text) {
                    response.headers_mut().append(header::WARNING, h);
                }
            }
            response
        }
        Err(e) => error_response(&e),
    }
}

fn with_version(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    v["apiVersion"] = json!(rt.api_version());
    v["kind"] = json!(rt.kind);
    v
}

fn get(shared: &Shared, _ctx: &Ctx, t: &Target, name: &str) -> Result<Value, ApiError> {
    shared
        .store
        .get(&t.key(name))
        .map(|o| with_version(&t.rt, &o))
        .ok_or_else(|| ApiError::not_found(&t.rt, name))
}

fn selectors(ctx: &Ctx) -> Result<(Selector, Selector), ApiError> {
    let labels = Selector::parse_labels(ctx.q("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fields = Selector::parse_fields(ctx.q("fieldSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn decode_continue(token: &str) -> Option<(u64, String, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    Some((
        v["rv"].as_u64()?,
        v["ns"].as_str()?.to_owned(),
        v["name"].as_str()?.to_owned(),
    ))
}

fn encode_continue(rv: u64, ns: &str, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"rv": rv, "ns": ns, "name": name}).to_string())
}

fn list(shared: &Shared, ctx: &Ctx, t: &Target) -> Result<Value, ApiError> {
    let (labels, fields) = selectors(ctx)?;
    let (items, mut rv) = shared
        .store
        .list(&t.rt.storage_key(), t.namespace.as_deref());
    let mut start: Option<(String, String)> = None;
    if let Some(token) = ctx.q("continue") {
        let (token_rv, ns, name) = decode_continue(token)
            .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
        if token_rv < shared.store.compacted() {
            return Err(ApiError::gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ));
        }
        rv = token_rv;
        start = Some((ns, name));
    }
    let limit = ctx
        .q("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let mut matching = items.iter().filter(|o| {
        let key = (
            meta_str(o, "namespace").unwrap_or("").to_owned(),
            meta_str(o, "name").unwrap_or("").to_owned(),
        );
        start.as_ref().is_none_or(|s| key > *s) && labels.matches(o) && fields.matches(o)
    });
    let mut out: Vec<Value> = Vec::new();
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    for o in matching.by_ref() {
        if limit.is_some_and(|l| out.len() >= l) {
            let remaining = 1 + matching.count();
            let last = out.last().expect("limit is at least 1");
            metadata["continue"] = json!(encode_continue(
                rv,
                meta_str(last, "namespace").unwrap_or(""),
                meta_str(last, "name").unwrap_or("")
            ));
            metadata["remainingItemCount"] = json!(remaining);
            break;
        }
        out.push(with_version(&t.rt, o));
    }
    Ok(json!({
        "kind": format!("{}List", t.rt.kind),
        "apiVersion": t.rt.api_version(),
        "metadata": metadata,
        "items": out,
    }))
}

/// The table for `v`, with a CRD's printer columns when it has them.
fn to_table(shared: &Shared, rt: &ResourceType, v: &Value, include: &str) -> Value {
    let crd = rt.custom.then(|| {
        let key = (
            "apiextensions.k8s.io/customresourcedefinitions".to_owned(),
            String::new(),
            format!("{}.{}", rt.plural, rt.group),
        );
        shared.store.get(&key)
    });
    crate::table::to_table(rt, v, include, crd.flatten().as_deref())
}

fn ensure_namespace(
    shared: &Shared,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    let key = ("/namespaces".to_owned(), String::new(), ns.to_owned());
    match shared.store.get(&key) {
        None => Err(
            ApiError::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
                .with_ns_details(ns),
        ),
        Some(o) if o["metadata"].get("deletionTimestamp").is_some() => Err(ApiError::forbidden(
            rt,
            name,
            &format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        )),
        Some(_) => Ok(()),
    }
}

trait NsDetails {
    fn with_ns_details(self, ns: &str) -> ApiError;
}
impl NsDetails for ApiError {
    fn with_ns_details(mut self, ns: &str) -> ApiError {
        self.details = Some(json!({"name": ns, "kind": "namespaces"}));
        self
    }
}

fn check_kind(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    if let Some(k) = obj["kind"].as_str()
        && k != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the body ({k}) does not match the resource ({})",
            rt.kind
        )));
    }
    if let Some(av) = obj["apiVersion"].as_str() {
        let group = av.rsplit_once('/').map_or("", |(g, _)| g);
        if group != rt.group {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                rt.api_version()
            )));
        }
    }
    Ok(())
}

fn create(shared: &Arc<Shared>, ctx: &Ctx, t: &Target, obj: Value) -> Result<Value, ApiError> {
    check_kind(&t.rt, &obj)?;
    ctx.validate_fields(&t.rt, &obj)?;
    if t.rt.is_review() {
        return Ok(review(&t.rt, obj));
    }
    if t.rt.namespaced && t.namespace.is_none() {
        return Err(ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ));
    }
    if let (Some(body_ns), Some(url_ns)) = (
        meta_str(&obj, "namespace").filter(|n| !n.is_empty()),
        &t.namespace,
    ) && body_ns != url_ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if meta_str(&obj, "resourceVersion").is_some() {
        return Err(ApiError::new(
            500,
            "InternalError",
            "Internal error occurred: resourceVersion should not be set on objects to be created",
        ));
    }
    let manager = ctx.manager("");
    let created = create_object(
        shared,
        &t.rt,
        t.namespace.as_deref(),
        obj,
        (&manager, "Update"),
        ctx.dry_run(),
    )?;
    Ok(with_version(&t.rt, &created))
}

/// Answers an access or identity review: there is no authorization, so
/// everything is allowed, and the one user is `devloop-sim`.
fn review(rt: &ResourceType, mut obj: Value) -> Value {
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    obj["metadata"] = json!({"creationTimestamp": objects::now()});
    obj["status"] = match rt.kind.as_str() {
        "SelfSubjectReview" => json!({"userInfo": {
            "username": "devloop-sim",
            "groups": ["system:masters", "system:authenticated"],
        }}),
        "SelfSubjectRulesReview" => json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
        }),
        _ => json!({"allowed": true, "reason": "devloop-sim does not simulate authorization"}),
    };
    obj
}

/// Creates an object as the API server does (used by requests and by the
/// simulator's own controllers).
pub fn create_object(
    shared: &Arc<Shared>,
    rt: &ResourceType,
    namespace: Option<&str>,
    mut obj: Value,
    writer: (&str, &str),
    dry_run: bool,
) -> Result<Value, ApiError> {
    let name = match (meta_str(&obj, "name"), meta_str(&obj, "generateName")) {
        (Some(n), _) => n.to_owned(),
        (None, Some(prefix)) => format!("{prefix}{}", objects::name_suffix()),
        (None, None) => {
            return Err(ApiError::invalid(
                &rt.clone(),
                "",
                "metadata.name",
                "Required value: name or generateName is required",
            ));
        }
    };
    if !objects::valid_name(&name) {
        return Err(ApiError::invalid(
            rt,
            &name,
            "metadata.name",
            &format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        ));
    }
    if let Some(ns) = namespace {
        ensure_namespace(shared, rt, ns, &name)?;
    }
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    {
        let md = objects::meta_mut(&mut obj);
        md.insert("name".into(), json!(name));
        if let Some(ns) = namespace {
            md.insert("namespace".into(), json!(ns));
        } else {
            md.remove("namespace");
        }
        md.insert("uid".into(), json!(objects::uid()));
        md.insert("creationTimestamp".into(), json!(objects::now()));
        for f in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            // An apply has computed its managedFields (apply::ssa).
            if f != "managedFields" || writer.1 != "Apply" {
                md.remove(f);
            }
        }
        if objects::has_generation(rt) {
            md.insert("generation".into(), json!(1));
        } else {
            md.remove("generation");
        }
    }
    if rt.status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    crate::fields::prune(rt, &mut obj);
    defaults_on_create(shared, rt, &mut obj)?;
    objects::record_manager(&mut obj, writer, &rt.api_version(), None, None);
    let key = (
        rt.storage_key(),
        namespace.unwrap_or("").to_owned(),
        name.clone(),
    );
    let stored = shared.store.mutate(&key, dry_run, |old| {
        if old.is_some() {
            Err(ApiError::already_exists(rt, &name))
        } else {
            Ok(Change::Put(obj))
        }
    })?;
    if !dry_run {
        after_create(shared, rt, &stored);
    }
    Ok(stored)
}

/// Service defaults as the API server's defaulting and IP/port allocators
/// give them; `old` keeps what was allocated before (updates).
fn service_defaults(shared: &Shared, obj: &mut Value, old: Option<&Value>) {
    use std::sync::atomic::Ordering;
    let spec = &mut obj["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_owned();
    spec["type"] = json!(ty);
    if ty != "ExternalName" {
        let previous = old
            .and_then(|o| o["spec"]["clusterIP"].as_str())
            .filter(|ip| !ip.is_empty());
        if spec["clusterIP"].as_str().is_none_or(str::is_empty) {
            let ip = previous.map_or_else(
                || {
                    let n = shared.next_cluster_ip.fetch_add(1, Ordering::Relaxed);
                    format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff)
                },
                str::to_owned,
            );
            spec["clusterIP"] = json!(ip);
        }
        spec["clusterIPs"] = json!([spec["clusterIP"]]);
        if spec["clusterIP"] != "None" {
            spec["ipFamilies"] = json!(["IPv4"]);
            spec["ipFamilyPolicy"] = json!("SingleStack");
        }
        spec["internalTrafficPolicy"] = spec
            .get("internalTrafficPolicy")
            .cloned()
            .unwrap_or(json!("Cluster"));
    }
    if spec.get("sessionAffinity").is_none() {
        spec["sessionAffinity"] = json!("None");
    }
    let node_ports = ty == "NodePort" || ty == "LoadBalancer";
    let old_ports = old
        .and_then(|o| o["spec"]["ports"].as_array())
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = spec["ports"].as_array_mut() {
        for p in ports.iter_mut().filter(|p| p.is_object()) {
            if p.get("protocol").is_none() {
                p["protocol"] = json!("TCP");
            }
            if p.get("targetPort").is_none() {
                p["targetPort"] = p["port"].clone();
            }
            if node_ports && p.get("nodePort").is_none() {
                let kept = old_ports
                    .iter()
                    .find(|o| o["port"] == p["port"])
                    .and_then(|o| o.get("nodePort"))
                    .cloned();
                p["nodePort"] = kept.unwrap_or_else(|| {
                    json!(shared.next_node_port.fetch_add(1, Ordering::Relaxed))
                });
            }
        }
    }
    if obj.get("status").is_none() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

fn defaults_on_create(shared: &Shared, rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Service") => service_defaults(shared, obj, None),
        ("", "Namespace") => {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
            let name = meta_str(obj, "name").unwrap_or("").to_owned();
            let md = objects::meta_mut(obj);
            let labels = md.entry("labels").or_insert_with(|| json!({}));
            labels["kubernetes.io/metadata.name"] = json!(name);
        }
        ("", "Secret") if obj["type"].as_str().is_none_or(str::is_empty) => {
            obj["type"] = json!("Opaque");
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let name = meta_str(obj, "name").unwrap_or("").to_owned();
            let accepted = crd_accepted(shared, rt, &name, obj, true)?;
            obj["status"] = crd_status(&accepted);
        }
        _ => {}
    }
    Ok(())
}

/// Validates a CRD's names (and registers it when `register`).
fn crd_accepted(
    shared: &Shared,
    rt: &ResourceType,
    name: &str,
    obj: &Value,
    register: bool,
) -> Result<Value, ApiError> {
    let spec = &obj["spec"];
    let expected = format!(
        "{}.{}",
        spec["names"]["plural"].as_str().unwrap_or(""),
        spec["group"].as_str().unwrap_or("")
    );
    if name != expected {
        return Err(ApiError::invalid(
            rt,
            name,
            "metadata.name",
            &format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if !register {
        return Ok(Value::Null);
    }
    shared
        .registry
        .register_crd(obj)
        .map_err(|why| ApiError::invalid(rt, name, "spec", &why))
}

fn crd_status(accepted: &Value) -> Value {
    let now = objects::now();
    json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": [],
    })
}

fn after_create(shared: &Arc<Shared>, rt: &ResourceType, obj: &Value) {
    if rt.group.is_empty() && rt.kind == "Namespace" {
        let ns = meta_str(obj, "name").unwrap_or("").to_owned();
        crate::populate_namespace(shared, &ns);
    }
}

fn update(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    t: &Target,
    name: &str,
    obj: Value,
) -> Result<(u16, Value), ApiError> {
    check_kind(&t.rt, &obj)?;
    ctx.validate_fields(&t.rt, &obj)?;
    if meta_str(&obj, "name").is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    if let (Some(body_ns), Some(url_ns)) = (
        meta_str(&obj, "namespace").filter(|n| !n.is_empty()),
        &t.namespace,
    ) && body_ns != url_ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let expected_rv = meta_str(&obj, "resourceVersion").map(str::to_owned);
    let manager = ctx.manager("");
    let v = write_existing(
        shared,
        t,
        name,
        ctx.dry_run(),
        expected_rv.as_deref(),
        (&manager, "Update"),
        |_| Ok(obj),
    )?;
    Ok((200, v))
}

/// Carries the metadata the server owns from `old` into `new` (and, for a
/// status write, everything but status).
fn keep_server_metadata(old: &Value, new: &mut Value, status_sub: bool) {
    let om = objects::meta(old).clone();
    let md = objects::meta_mut(new);
    // managedFields a client sets (kubectl's client-side to server-side
    // apply migration, an apply's own computation) replace the stored ones;
    // an empty list keeps them, `[{}]` resets them.
    let client_fields = md
        .get("managedFields")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty() && om.get("managedFields").and_then(Value::as_array) != Some(l))
        .map(|l| {
            l.iter()
                .filter(|e| e.as_object().is_some_and(|m| !m.is_empty()))
                .cloned()
                .collect::<Vec<_>>()
        });
    let server_owned = [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "managedFields",
    ];
    let client_owned = ["labels", "annotations", "finalizers", "ownerReferences"];
    let kept = if status_sub {
        &client_owned[..]
    } else {
        &[][..]
    };
    for f in server_owned.iter().chain(kept) {
        if *f == "managedFields"
            && let Some(l) = &client_fields
        {
            md.insert("managedFields".into(), Value::Array(l.clone()));
            continue;
        }
        match om.get(*f) {
            Some(v) => md.insert((*f).into(), v.clone()),
            None => md.remove(*f),
        };
    }
}

/// Replaces an existing object with what `f` makes of it, keeping what the
/// server owns (uid, creationTimestamp, status unless writing `/status`...).
fn write_existing(
    shared: &Arc<Shared>,
    t: &Target,
    name: &str,
    dry_run: bool,
    expected_rv: Option<&str>,
    writer: (&str, &str),
    f: impl FnOnce(&Value) -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let rt = &t.rt;
    let status_sub = t.sub.as_deref() == Some("status");
    let mut removed_crd = None;
    let result = shared.store.mutate(&t.key(name), dry_run, |old| {
        let Some(old) = old else {
            return Err(ApiError::not_found(rt, name));
        };
        let current_rv = meta_str(old, "resourceVersion").unwrap_or("");
        if expected_rv.is_some_and(|rv| rv != current_rv) {
            return Err(ApiError::stale(rt, name));
        }
        let mut incoming = f(old)?;
        check_kind(rt, &incoming)?;
        let mut new = if status_sub {
            let mut n = old.clone();
            n["status"] = incoming.get("status").cloned().unwrap_or(Value::Null);
            if writer.1 == "Apply" {
                // apply::ssa computed the entries, `subresource: status` included.
                n["metadata"]["managedFields"] = incoming["metadata"]["managedFields"].clone();
            }
            n
        } else {
            if rt.status
                && let Some(m) = incoming.as_object_mut()
            {
                match old.get("status") {
                    Some(s) => {
                        m.insert("status".into(), s.clone());
                    }
                    None => {
                        m.remove("status");
                    }
                }
            }
            incoming
        };
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        crate::fields::prune(rt, &mut new);
        keep_server_metadata(old, &mut new, status_sub);
        if rt.group.is_empty() && rt.kind == "Service" && !status_sub {
            service_defaults(shared, &mut new, Some(old));
        }
        if rt.group == "apiextensions.k8s.io" && !status_sub {
            let accepted = crd_accepted(shared, rt, name, &new, !dry_run)?;
            if !dry_run {
                new["status"] = crd_status(&accepted);
            }
        }
        if objects::has_generation(rt) && objects::spec_part(&new) != objects::spec_part(old) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            objects::meta_mut(&mut new).insert("generation".into(), json!(g));
        }
        if objects::comparable(&new) == objects::comparable(old)
            && new["metadata"]["managedFields"] == old["metadata"]["managedFields"]
        {
            return Ok(Change::Keep(old.clone()));
        }
        objects::record_manager(
            &mut new,
            writer,
            &rt.api_version(),
            t.sub.as_deref(),
            Some(old),
        );
        let finalizers_empty = new["metadata"]["finalizers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if new["metadata"].get("deletionTimestamp").is_some() && finalizers_empty {
            if rt.group == "apiextensions.k8s.io" {
                removed_crd = Some(new.clone());
            }
            return Ok(Change::Remove(new));
        }
        Ok(Change::Put(new))
    });
    let v = result?;
    if let Some(crd) = removed_crd {
        crd_removed(shared, &crd);
    }
    if !dry_run
        && v["metadata"].get("deletionTimestamp").is_some()
        && shared.store.get(&t.key(name)).is_none()
    {
        crate::collect_garbage(shared, &v);
    }
    Ok(with_version(rt, &v))
}

fn patch_object(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    t: &Target,
    name: &str,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let ct = ctx
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if ct == "application/apply-patch+yaml" {
        return apply_object(shared, ctx, t, name, body);
    }
    if ct == "application/strategic-merge-patch+json" && crate::apply::is_custom(&t.rt) {
        // Custom resources have no patch strategies: the real server refuses.
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml, application/json-patch+json, application/merge-patch+json",
        ));
    }
    let patch: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the patch could not be decoded as JSON: {e}"))
    })?;
    if patch.is_object() {
        ctx.validate_fields(&t.rt, &strip_directives(&patch))?;
    }
    let apply = |old: &Value| -> Result<Value, ApiError> {
        let mut doc = with_version(&t.rt, old);
        match ct.as_str() {
            "application/json-patch+json" => patch::json_patch(&mut doc, &patch).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the JSON patch could not be applied: {e}"),
                )
            })?,
            "application/merge-patch+json" => patch::merge_patch(&mut doc, &patch),
            "application/strategic-merge-patch+json" => {
                crate::apply::smp::patch(&mut doc, &patch).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!("the strategic merge patch could not be applied: {e}"),
                    )
                })?;
            }
            other => {
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other})"
                    ),
                ));
            }
        }
        Ok(doc)
    };
    let expected_rv = patch["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned);
    let manager = ctx.manager("");
    let v = write_existing(
        shared,
        t,
        name,
        ctx.dry_run(),
        expected_rv.as_deref(),
        (&manager, "Update"),
        apply,
    )?;
    Ok((200, v))
}

/// Server-side apply (`apply::ssa`): creates the object when it is missing,
/// else merges the applied configuration with field ownership, removals
/// and conflicts (409 unless `force=true`).
fn apply_object(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    t: &Target,
    name: &str,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let Some(manager) = ctx.q("fieldManager").map(str::to_owned) else {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        ));
    };
    let applied: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            "devloop-sim reads server-side apply bodies as JSON only (YAML apply configurations are not simulated yet)",
        )
    })?;
    check_kind(&t.rt, &applied)?;
    ctx.validate_fields(&t.rt, &applied)?;
    if meta_str(&applied, "name").is_some_and(|n| n != name) {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    let mut applied = applied;
    crate::fields::prune(&t.rt, &mut applied);
    let force = ctx.flag("force");
    let api_version = t.rt.api_version();
    let sub = t.sub.as_deref();
    let run = |live: Option<&Value>| {
        crate::apply::last_applied::apply(live, &applied, &manager, &api_version, force, sub)
            .map_err(|conflicts| {
                let (message, details) = crate::apply::ssa::conflict_status(&conflicts);
                let mut e = ApiError::new(409, "Conflict", message);
                e.details = Some(details);
                e
            })
    };
    if t.sub.is_none() && shared.store.get(&t.key(name)).is_none() {
        let mut obj = run(None)?;
        objects::meta_mut(&mut obj).insert("name".into(), json!(name));
        let created = create_object(
            shared,
            &t.rt,
            t.namespace.as_deref(),
            obj,
            (&manager, "Apply"),
            ctx.dry_run(),
        )?;
        return Ok((201, with_version(&t.rt, &created)));
    }
    let expected_rv = meta_str(&applied, "resourceVersion").map(str::to_owned);
    let v = write_existing(
        shared,
        t,
        name,
        ctx.dry_run(),
        expected_rv.as_deref(),
        (&manager, "Apply"),
        |old| run(Some(&with_version(&t.rt, old))),
    )?;
    Ok((200, v))
}

/// The `autoscaling/v1` `Scale` view of an object with `spec.replicas`.
fn scale_of(obj: &Value) -> Value {
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let md = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
            "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

/// GET, PUT and PATCH of `/scale`: reads and writes `spec.replicas`.
fn scale(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    method: &Method,
    t: &Target,
    name: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let main = Target {
        rt: t.rt.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone(),
        sub: None,
    };
    let current = get(shared, ctx, &main, name)?;
    let wanted = match *method {
        Method::GET => return Ok(scale_of(&current)),
        Method::PUT => serde_json::from_slice::<Value>(body).map_err(|e| {
            ApiError::bad_request(format!("the body could not be decoded as JSON: {e}"))
        })?,
        Method::PATCH => {
            let patch: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("the patch could not be decoded as JSON: {e}"))
            })?;
            let mut doc = scale_of(&current);
            if ctx.content_type.starts_with("application/json-patch+json") {
                patch::json_patch(&mut doc, &patch)
                    .map_err(|e| ApiError::new(422, "Invalid", e))?;
            } else {
                patch::merge_patch(&mut doc, &strip_directives(&patch));
            }
            doc
        }
        _ => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                format!("{method} is not supported on scale"),
            ));
        }
    };
    let replicas = wanted["spec"]["replicas"]
        .as_i64()
        .ok_or_else(|| ApiError::invalid(&t.rt, name, "spec.replicas", "Required value"))?;
    let expected_rv = wanted["metadata"]["resourceVersion"]
        .as_str()
        .map(str::to_owned);
    let manager = ctx.manager("");
    // Recorded as the real server does: `subresource: scale` on the parent.
    let through_scale = Target {
        sub: Some("scale".to_owned()),
        ..main
    };
    let updated = write_existing(
        shared,
        &through_scale,
        name,
        ctx.dry_run(),
        expected_rv.as_deref(),
        (&manager, "Update"),
        |old| {
            let mut new = old.clone();
            new["spec"]["replicas"] = json!(replicas);
            Ok(new)
        },
    )?;
    Ok(scale_of(&updated))
}

/// Strategic merge patch directives (`$patch`, `$setElementOrder/...`) are
/// dropped: until part 2 a strategic patch is applied as a merge patch.
fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn delete(
    shared: &Arc<Shared>,
    ctx: &Ctx,
    t: &Target,
    name: &str,
    opts: &Value,
) -> Result<Value, ApiError> {
    let dry_run = ctx.dry_run()
        || opts["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|d| d == "All"));
    let grace = ctx
        .q("gracePeriodSeconds")
        .and_then(|g| g.parse::<i64>().ok())
        .or_else(|| opts["gracePeriodSeconds"].as_i64());
    let pre = &opts["preconditions"];
    let policy = ctx
        .q("propagationPolicy")
        .or_else(|| opts["propagationPolicy"].as_str())
        .or_else(|| (opts["orphanDependents"] == true).then_some("Orphan"));
    if !dry_run {
        crate::controllers::gc::mark(shared, &t.key(name), policy);
    }
    let v = delete_key(shared, &t.rt, &t.key(name), dry_run, grace, pre)?;
    Ok(with_version(&t.rt, &v))
}

/// Deletes as the API server does: objects with finalizers get a
/// deletionTimestamp and stay until their finalizers are gone.
pub fn delete_key(
    shared: &Arc<Shared>,
    rt: &ResourceType,
    key: &Key,
    dry_run: bool,
    grace: Option<i64>,
    preconditions: &Value,
) -> Result<Value, ApiError> {
    let name = key.2.clone();
    let is_namespace = rt.group.is_empty() && rt.kind == "Namespace";
    let mut removed = false;
    let v = shared.store.mutate(key, dry_run, |old| {
        let Some(old) = old else {
            return Err(ApiError::not_found(rt, &name));
        };
        if let Some(uid) = preconditions["uid"].as_str()
            && meta_str(old, "uid") != Some(uid)
        {
            return Err(ApiError::conflict(rt, &name, &format!("Precondition failed: UID in precondition: {uid}, UID in object meta: {}", meta_str(old, "uid").unwrap_or(""))));
        }
        if let Some(rv) = preconditions["resourceVersion"].as_str()
            && meta_str(old, "resourceVersion") != Some(rv)
        {
            return Err(ApiError::conflict(rt, &name, &format!("Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}", meta_str(old, "resourceVersion").unwrap_or(""))));
        }
        if old["metadata"].get("deletionTimestamp").is_some() {
            return Ok(Change::Keep(old.clone()));
        }
        let mut new = old.clone();
        {
            let md = objects::meta_mut(&mut new);
            md.insert("deletionTimestamp".into(), json!(objects::now()));
            md.insert("deletionGracePeriodSeconds".into(), json!(grace.unwrap_or(0)));
        }
        if is_namespace {
            new["status"]["phase"] = json!("Terminating");
            return Ok(Change::Put(new));
        }
        let has_finalizers = new["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        // Pods on a node with a kubelet terminate gracefully: the kubelet
        // removes them once their containers have stopped.
        let graceful_pod = rt.group.is_empty()
            && rt.kind == "Pod"
            && old["spec"]["nodeName"].is_string()
            && shared.kubelet_active.load(std::sync::atomic::Ordering::SeqCst);
        if graceful_pod {
            let grace = grace.or_else(|| old["spec"]["terminationGracePeriodSeconds"].as_i64()).unwrap_or(30);
            objects::meta_mut(&mut new).insert("deletionGracePeriodSeconds".into(), json!(grace));
            if grace > 0 || has_finalizers {
                return Ok(Change::Put(new));
            }
        }
        if has_finalizers {
            Ok(Change::Put(new))
        } else {
            removed = true;
            Ok(Change::Remove(new))
        }
    })?;
    if dry_run {
        return Ok(v);
    }
    if is_namespace {
        let shared = Arc::clone(shared);
        let ns = name.clone();
        tokio::spawn(async move { crate::finish_namespace(&shared, &ns) });
    }
    if removed {
        if rt.group == "apiextensions.k8s.io" {
            crd_removed(shared, &v);
        }
        crate::collect_garbage(shared, &v);
    }
    Ok(v)
}

fn crd_removed(shared: &Arc<Shared>, crd: &Value) {
    shared.registry.unregister_crd(crd);
    let (Some(group), Some(plural)) = (
        crd["spec"]["group"].as_str(),
        crd["spec"]["names"]["plural"].as_str(),
    ) else {
        return;
    };
    let storage = format!("{group}/{plural}");
    let (items, _) = shared.store.list(&storage, None);
    for o in items {
        let key = (
            storage.clone(),
            meta_str(&o, "namespace").unwrap_or("").to_owned(),
            meta_str(&o, "name").unwrap_or("").to_owned(),
        );
        let _ = shared.store.mutate(&key, false, |old| {
            Ok::<_, ApiError>(old.map_or(Change::Keep(Value::Null), |o| Change::Remove(o.clone())))
        });
    }
}

fn delete_collection(shared: &Arc<Shared>, ctx: &Ctx, t: &Target) -> Result<Value, ApiError> {
    let (labels, fields) = selectors(ctx)?;
    let (items, rv) = shared
        .store
        .list(&t.rt.storage_key(), t.namespace.as_deref());
    let mut deleted = Vec::new();
    for o in items
        .iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
    {
        let key = (
            t.rt.storage_key(),
            meta_str(o, "namespace").unwrap_or("").to_owned(),
            meta_str(o, "name").unwrap_or("").to_owned(),
        );
        if let Ok(v) = delete_key(shared, &t.rt, &key, ctx.dry_run(), None, &Value::Null) {
            deleted.push(with_version(&t.rt, &v));
        }
    }
    Ok(json!({
        "kind": format!("{}List", t.rt.kind),
        "apiVersion": t.rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": deleted,
    }))
}

// ---- watch ----

fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    r
}

struct WatchFilter {
    storage: String,
    namespace: Option<String>,
    labels: Selector,
    fields: Selector,
}

impl WatchFilter {
    fn matches(&self, o: &Value) -> bool {
        self.labels.matches(o) && self.fields.matches(o)
    }

    /// The event type this watcher sees for `e`, if any (selector
    /// transitions turn MODIFIED into ADDED or DELETED).
    fn classify(&self, e: &Event) -> Option<&'static str> {
        if e.key.0 != self.storage || self.namespace.as_ref().is_some_and(|n| *n != e.key.1) {
            return None;
        }
        let now = self.matches(&e.object);
        match e.kind {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => now.then_some("DELETED"),
            EventType::Modified => {
                let before = e.old.as_deref().is_some_and(|o| self.matches(o));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }
    }
}

#[allow(clippy::too_many_lines)] // one task, read top to bottom
fn watch(shared: &Arc<Shared>, ctx: &Ctx, t: &Target) -> Response<Body> {
    let (labels, fields) = match selectors(ctx) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let filter = WatchFilter {
        storage: t.rt.storage_key(),
        namespace: t.namespace.clone(),
        labels,
        fields,
    };
    let rt = t.rt.clone();
    let table = ctx.table();
    let include = ctx.q("includeObject").unwrap_or("Metadata").to_owned();
    let table_shared = Arc::clone(shared);
    let render = move |o: &Value| {
        let v = with_version(&rt, o);
        if table {
            to_table(&table_shared, &rt, &v, &include)
        } else {
            v
        }
    };
    let bookmarks = ctx.flag("allowWatchBookmarks");
    let send_initial = ctx.flag("sendInitialEvents");
    let timeout = ctx
        .q("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let rv_param = ctx.q("resourceVersion").map(str::to_owned);
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let shared = Arc::clone(shared);
    let kind = t.rt.kind.clone();
    let api_version = t.rt.api_version();
    tokio::spawn(async move {
        let from = rv_param
            .as_deref()
            .filter(|r| *r != "0")
            .map(str::parse::<u64>);
        let (initial, sub, mut last_rv) = match from {
            Some(Err(_)) => {
                let e = ApiError::bad_request("resourceVersion: Invalid value: not a number");
                let _ = tx.send(watch_line("ERROR", &e.status())).await;
                return;
            }
            Some(Ok(rv)) if !send_initial => match shared.store.subscribe(rv) {
                Ok(s) => (Vec::new(), s, rv),
                Err(too_old) => {
                    let e = ApiError::gone(format!(
                        "too old resource version: {} ({})",
                        too_old.requested, too_old.oldest
                    ));
                    let _ = tx.send(watch_line("ERROR", &e.status())).await;
                    return;
                }
            },
            _ => {
                // Start at the most recent state: synthetic ADDED events.
                let (items, rv, sub) = shared
                    .store
                    .snapshot_and_subscribe(&filter.storage, filter.namespace.as_deref());
                (items, sub, rv)
            }
        };
        for o in initial.iter().filter(|o| filter.matches(o)) {
            if tx.send(watch_line("ADDED", &render(o))).await.is_err() {
                return;
            }
        }
        let bookmark = |rv: u64, end: bool| {
            let mut md = json!({"resourceVersion": rv.to_string()});
            if end {
                md["annotations"] = json!({"k8s.io/initial-events-end": "true"});
            }
            watch_line(
                "BOOKMARK",
                &json!({"kind": kind, "apiVersion": api_version, "metadata": md}),
            )
        };
        if send_initial && bookmarks && tx.send(bookmark(last_rv, true)).await.is_err() {
            return;
        }
        for e in &sub.replay {
            last_rv = e.rv;
            if let Some(ty) = filter.classify(e)
                && tx.send(watch_line(ty, &render(&e.object))).await.is_err()
            {
                return;
            }
        }
        let mut live = sub.live;
        let deadline = timeout.map(|d| tokio::time::Instant::now() + d);
        let mut ticker = tokio::time::interval(shared.bookmark_interval);
        ticker.tick().await;
        loop {
            let sleep_until =
                deadline.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_hours(24));
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep_until(sleep_until) => return,
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(bookmark(last_rv, false)).await.is_err() { return; }
                }
                ev = live.recv() => match ev {
                    Ok(e) => {
                        if e.rv <= last_rv { continue; }
                        last_rv = e.rv;
                        if let Some(ty) = filter.classify(&e)
                            && tx.send(watch_line(ty, &render(&e.object))).await.is_err()
                        {
                            return;
                        }
                    }
                    // A slow watcher is cut off; it re-watches from its last rv.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    stream_response(rx)
}
