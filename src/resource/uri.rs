//! `uri`: an HTTP request from the host (a health check, an API call), answering with what
//! Ansible's `uri` registers (`status`, `content`, `json`, `content_type`, the other response
//! headers, `redirected`, `cookies`, ...), failing when the status is not one of `status_code`.
//!
//! The request runs on the host with its `python3` and the standard library's `urllib`:
//! every host Ansible manages has `python3` (Ansible's own modules need it), while Debian's
//! minimal and standard installs carry neither curl nor wget; and `urllib` gives the status,
//! headers, redirects and form/JSON bodies exactly as Ansible's module (itself `urllib`) does.
//! The request travels on python's stdin as JSON, so a `password` is never in argv.
//!
//! A request that changes nothing (`GET`, `HEAD`, `OPTIONS` without `dest`) is a query
//! answered from the probe, like `stat`: in the stage's one round, and known when planning.
//! Any other method runs at apply only (Ansible's module does not run in check mode), and is
//! no drift, since the module reports no change (the module's kind is `Wait`). With `dest` the body is written atomically there, and the step converges
//! when the file already holds it. `creates`/`removes` skip the request as Ansible does.
//!
//! Differences from Ansible: a request run at apply (a `POST`, or a `dest` written) registers
//! the run's output (its JSON answer as `stdout`), not the answer's fields; `dest` must name a
//! file, not a directory; `src`, `unix_socket`, `ca_path`, client certificates, `ciphers` and
//! `form-multipart` bodies are refused; a `dest` written again is not reported as changed when
//! it already holds the body (Ansible reports every write).

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Makes an HTTP request from the host.
///
/// ```yaml
/// - uri:
///     url: http://localhost:9100/
///     return_content: true
///   register: metrics
///   failed_when: "'Metrics' not in metrics.content"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "uri",
    fqcn: "ansible.builtin.uri",
    kind: ModuleKind::Wait,
    params: &[
        P::new("url", Str).required(),
        P::new("method", Str).default(D::Str("GET")),
        P::new("body", Raw),
        P::new("body_format", Str)
            .default(D::Str("raw"))
            .choices(&["form-urlencoded", "json", "raw", "form-multipart"]),
        P::new("headers", Dict),
        P::new("status_code", List).default(D::Str("200")),
        P::new("return_content", Bool).default(D::Bool(false)),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("timeout", Int).default(D::Int(30)),
        P::new("dest", Path),
        P::new("creates", Path),
        P::new("removes", Path),
        P::new("url_username", Str).aliases(&["user"]),
        P::new("url_password", Str).aliases(&["password"]),
        P::new("force_basic_auth", Bool).default(D::Bool(false)),
        P::new("follow_redirects", Str)
            .default(D::Str("safe"))
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
        P::new("http_agent", Str).default(D::Str("ansible-httpget")),
        P::new("use_proxy", Bool).default(D::Bool(true)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("decompress", Bool).default(D::Bool(true)),
        P::new("use_netrc", Bool).default(D::Bool(true)),
        P::new("remote_src", Bool).default(D::Bool(false)),
        P::new("src", Path),
        P::new("unix_socket", Path),
        P::new("ca_path", Path),
        P::new("client_cert", Path),
        P::new("client_key", Path),
        P::new("ciphers", List),
        P::new("unredirected_headers", List),
        P::new("use_gssapi", Bool).default(D::Bool(false)),
    ],
    mutually_exclusive: &[&["body", "src"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

/// Methods that change nothing on the server: asked in the probe, even when planning.
const SAFE_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS"];

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["src", "unix_socket", "ca_path", "client_cert", "client_key", "ciphers", "use_gssapi"])?;
    if !args.list("unredirected_headers")?.is_empty() {
        bail!("parameter `unredirected_headers` of module `uri` is not supported by deploy");
    }
    let url = args.required_str("url")?;
    let method = args.str("method")?.unwrap_or_else(|| "GET".into()).to_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        bail!("Parameter 'method' needs to be a single word in uppercase, like GET or POST.");
    }
    let body_format = args.str("body_format")?.unwrap_or_else(|| "raw".into()).to_lowercase();
    if body_format == "form-multipart" {
        bail!("`body_format: form-multipart` of module `uri` is not supported by deploy");
    }
    let status_codes = args
        .list("status_code")?
        .iter()
        .map(|c| c.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .context("`status_code` must list HTTP status codes (integers)")?;
    let headers = match args.value("headers") {
        None => Map::new(),
        Some(Json::Object(headers)) => headers
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => s,
                    other => other.to_string(),
                };
                (k, Json::String(v))
            })
            .collect(),
        Some(other) => bail!("parameter `headers` must be a mapping, found {other}"),
    };
    let follow = args.str("follow_redirects")?.unwrap_or_else(|| "safe".into());
    Ok(Box::new(Uri {
        request: json!({
            "url": url,
            "method": method,
            "body": args.value("body"),
            "body_format": body_format,
            "headers": headers,
            "validate_certs": args.bool("validate_certs")?.unwrap_or(true),
            "timeout": args.int("timeout")?.unwrap_or(30),
            "user": args.str("url_username")?,
            "password": args.str("url_password")?,
            "force_basic_auth": args.flag("force_basic_auth")?,
            "follow": follow,
            "agent": args.str("http_agent")?.unwrap_or_else(|| "ansible-httpget".into()),
            "use_proxy": args.bool("use_proxy")?.unwrap_or(true),
            "creates": args.str("creates")?,
            "removes": args.str("removes")?,
            "dest": args.str("dest")?,
        }),
        url,
        method,
        status_codes,
        return_content: args.flag("return_content")?,
        dest: args.str("dest")?,
    }))
}

#[derive(Debug)]
pub struct Uri {
    /// What the python helper reads on stdin (the `password` among it: never shown).
    pub request: Json,
    pub url: String,
    pub method: String,
    pub status_codes: Vec<i64>,
    pub return_content: bool,
    pub dest: Option<String>,
}

/// Runs the request described by the JSON on stdin and prints one JSON line: the response
/// (`status`, `url`, `msg`, `headers`, `body` in base64, `cookies`, `elapsed`), `skipped` when
/// `creates`/`removes` say so, `deferred` when the request is for apply only. With `"write":
/// true` and a `dest`, the body is written there atomically (`changed` says whether it
/// differed, and the exit code is 10 then); without, `dest_same` says whether the file already
/// holds it. With `write`, a status not in `status_codes` exits 3.
const HELPER: &str = r#"import base64, hashlib, http.cookiejar, json, os, ssl, sys, tempfile, time, urllib.error, urllib.parse, urllib.request
q = json.load(sys.stdin)
def done(answer):
    print(json.dumps(answer))
    sys.exit(0)
if q.get("creates") and os.path.exists(q["creates"]):
    done({"skipped": "skipped, since '%s' exists" % q["creates"]})
if q.get("removes") and not os.path.exists(q["removes"]):
    done({"skipped": "skipped, since '%s' does not exist" % q["removes"]})
if not q["run"]:
    done({"deferred": True})
headers = dict(q["headers"])
names = [h.lower() for h in headers]
body = q.get("body")
if q["body_format"] == "json":
    if not isinstance(body, str):
        body = json.dumps(body)
    if "content-type" not in names:
        headers["Content-Type"] = "application/json"
elif q["body_format"] == "form-urlencoded":
    if not isinstance(body, str):
        pairs = []
        for key, values in (body.items() if isinstance(body, dict) else body):
            if isinstance(values, str) or not isinstance(values, (dict, list)):
                values = [values]
            if values is not None:
                for value in values:
                    pairs.append((str(key), str(value)))
        body = urllib.parse.urlencode(pairs, doseq=True)
    if "content-type" not in names:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
elif body is not None and not isinstance(body, str):
    body = json.dumps(body)
data = body.encode("utf-8") if body is not None else None
if "user-agent" not in names:
    headers["User-Agent"] = q["agent"]
follow = q["follow"]
class Redirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, hdrs, newurl):
        if follow in ("no", "none"):
            return None
        if follow == "safe" and req.get_method() not in ("GET", "HEAD"):
            return None
        return urllib.request.HTTPRedirectHandler.redirect_request(self, req, fp, code, msg, hdrs, newurl)
context = ssl.create_default_context()
if not q["validate_certs"]:
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
jar = http.cookiejar.CookieJar()
handlers = [Redirect(), urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(jar)]
if not q["use_proxy"]:
    handlers.append(urllib.request.ProxyHandler({}))
if q.get("user") is not None:
    if q["force_basic_auth"]:
        token = base64.b64encode(("%s:%s" % (q["user"], q.get("password") or "")).encode()).decode()
        headers["Authorization"] = "Basic " + token
    else:
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, q["url"], q["user"], q.get("password") or "")
        handlers.append(urllib.request.HTTPBasicAuthHandler(manager))
opener = urllib.request.build_opener(*handlers)
request = urllib.request.Request(q["url"], data=data, headers=headers, method=q["method"])
start = time.time()
try:
    r = opener.open(request, timeout=q["timeout"])
    status, content, info, url = r.status, r.read(), r.headers, r.geturl()
    msg = "OK (%s bytes)" % info.get("Content-Length", "unknown")
except urllib.error.HTTPError as e:
    status, info, url = e.code, e.headers, e.geturl()
    try:
        content = e.read()
    except Exception:
        content = b""
    msg = "HTTP Error %s: %s" % (e.code, e.reason)
except Exception as e:
    done({"status": -1, "url": q["url"], "msg": "Request failed: %s" % e, "headers": {}, "body": "", "cookies": {}, "elapsed": int(time.time() - start)})
answer = {"status": status, "url": url, "msg": msg, "elapsed": int(time.time() - start),
    "headers": {k.lower(): v for k, v in info.items()}, "body": base64.b64encode(content).decode(),
    "cookies": {c.name: c.value for c in jar}}
dest = q.get("dest")
if dest:
    try:
        with open(dest, "rb") as f:
            same = hashlib.sha256(f.read()).digest() == hashlib.sha256(content).digest()
    except OSError:
        same = False
    answer["dest_same"] = same
    if q.get("write") and not same and status in q["status_codes"] and status != 304:
        fd, tmp = tempfile.mkstemp(prefix=".deploy-tmp.", dir=os.path.dirname(os.path.abspath(dest)))
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        try:
            os.chmod(tmp, os.stat(dest).st_mode & 0o7777)
        except OSError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        answer["changed"] = True
print(json.dumps(answer))
if q.get("write") and status not in q["status_codes"]:
    sys.stderr.write("Status code was %s and not %s: %s\n" % (status, q["status_codes"], msg))
    sys.exit(3)
sys.exit(10 if answer.get("changed") else 0)"#;

impl Uri {
    fn safe(&self) -> bool {
        SAFE_METHODS.contains(&self.method.as_str())
    }

    /// The helper's command, fed `request` with `run` and `write` set, then `suffix`.
    fn script(&self, run: bool, write: bool, suffix: &'static str) -> Script {
        let mut request = self.request.clone();
        request["run"] = json!(run);
        request["write"] = json!(write);
        request["status_codes"] = json!(self.status_codes);
        let mut script = Script::new();
        script.raw("command -v python3 >/dev/null || { echo 'uri needs python3 on the host' >&2; exit 1; }");
        script.pipe_bytes(request.to_string().as_bytes(), &["python3", "-c", HELPER], suffix);
        script
    }

    /// The helper's answer shaped as Ansible's `uri` registers it.
    fn answer(&self, raw: &Json) -> Result<Json> {
        if let Some(skipped) = raw.get("skipped").and_then(Json::as_str) {
            return Ok(json!({"changed": false, "failed": false, "stdout": skipped}));
        }
        let status = raw["status"]
            .as_i64()
            .context("the request's helper printed no status")?;
        let mut result = Map::new();
        let masked = mask_url(&self.url);
        let url = raw["url"].as_str().unwrap_or(&self.url);
        result.insert("redirected".into(), json!(mask_url(url) != masked));
        result.insert("url".into(), json!(mask_url(url)));
        result.insert("msg".into(), raw["msg"].clone());
        result.insert("elapsed".into(), raw["elapsed"].clone());
        result.insert("cookies".into(), raw["cookies"].clone());
        let cookies_string = raw["cookies"]
            .as_object()
            .map(|c| {
                c.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        result.insert("cookies_string".into(), json!(cookies_string));
        let mut content_type = String::new();
        if let Some(headers) = raw["headers"].as_object() {
            for (name, value) in headers {
                let value = if name == "location" {
                    json!(join_url(url, value.as_str().unwrap_or_default()))
                } else {
                    value.clone()
                };
                if name == "content-type" {
                    content_type = value.as_str().unwrap_or_default().to_string();
                }
                result.insert(name.replace('-', "_").to_lowercase(), value);
            }
        }
        result.insert("status".into(), json!(status));
        result.insert("changed".into(), json!(raw["changed"] == json!(true)));
        use base64::Engine as _;
        let body = base64::engine::general_purpose::STANDARD
            .decode(raw["body"].as_str().unwrap_or_default())
            .context("the request's helper printed a body that is not base64")?;
        let text = String::from_utf8_lossy(&body).into_owned();
        let (mime, _) = content_type.split_once(';').unwrap_or((&content_type, ""));
        let subtype = mime.trim().split_once('/').map_or("", |(_, s)| s).to_lowercase();
        let subtype = subtype.rsplit_once('+').map_or(subtype.as_str(), |(_, s)| s);
        if ["json", "javascript"].contains(&subtype) {
            if let Ok(parsed) = serde_json::from_str::<Json>(&text) {
                result.insert("json".into(), parsed);
            }
        }
        if self.return_content {
            result.insert("content".into(), json!(text));
        }
        if let Some(dest) = &self.dest {
            result.insert("path".into(), json!(dest));
        }
        let ok = self.status_codes.contains(&status);
        if !ok {
            let msg = format!(
                "Status code was {status} and not {:?}: {}",
                self.status_codes,
                raw["msg"].as_str().unwrap_or_default()
            );
            result.insert("msg".into(), json!(msg));
        }
        result.insert("failed".into(), json!(!ok));
        Ok(Json::Object(result))
    }
}

/// A URL with its password hidden, as Ansible's `mask_url` shows it.
fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
            let hidden = if credentials.contains(':') { ":********" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// A `Location` made absolute against the URL it answered, as Ansible's `urljoin`.
fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return location.to_string();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    if let Some(path) = location.strip_prefix('/') {
        return format!("{scheme}://{host}/{path}");
    }
    let dir = rest[host_end..].rsplit_once('/').map_or("", |(d, _)| d);
    format!("{scheme}://{host}{dir}/{location}")
}

/// What the probe printed: the helper's JSON answer.
fn parse(out: &Section) -> Result<Json> {
    if out.status != 0 {
        bail!(
            "the request could not be made: {}",
            String::from_utf8_lossy(&out.output).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.output);
    serde_json::from_str(text.trim()).context("the request's helper printed something other than JSON")
}

impl Resource for Uri {
    type State = Json;

    fn target(&self) -> String {
        format!("{} {}", self.method, mask_url(&self.url))
    }

    fn probe(&self) -> Script {
        self.script(self.safe(), false, "|| exit 1")
    }

    fn inspect(&self, out: &Section) -> Result<Json> {
        parse(out)
    }

    fn diff(&self, have: &Json) -> Diff {
        if have.get("skipped").is_some() {
            return Diff::converged();
        }
        if have.get("deferred").is_some() {
            return Diff::new(Action::Run);
        }
        match &self.dest {
            Some(dest)
                if have["dest_same"] != json!(true)
                    && have["status"].as_i64().is_some_and(|s| self.status_codes.contains(&s) && s != 304) =>
            {
                Diff::from_attributes(vec![AttributeChange::new(
                    "content",
                    None::<String>,
                    Some(format!("{dest} (the response body)")),
                )])
            }
            _ => Diff::converged(),
        }
    }

    fn apply(&self, _have: &Json, _diff: &Diff) -> Script {
        // The helper fails as the module does, on a status not in `status_code`; it exits 10
        // when it wrote `dest`.
        let mut script = self.script(true, true, "; r=$?");
        script.raw(r#"case "$r" in 0) ;; 10) deploy_changed;; *) exit 1;; esac"#);
        script
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        let raw = parse(out)?;
        if raw.get("deferred").is_some() {
            return Ok(None);
        }
        Ok(Some(self.answer(&raw)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};

    fn step(params: Json) -> Box<dyn Step> {
        build_step(&SPEC, params, &NoContext).unwrap()
    }

    fn helper_output(status: i64, content_type: &str, body: &str) -> String {
        use base64::Engine as _;
        json!({"status": status, "url": "http://localhost:8080/x", "msg": "OK (5 bytes)", "elapsed": 0,
            "headers": {"content-type": content_type, "content-length": body.len().to_string(), "server": "test"},
            "body": base64::engine::general_purpose::STANDARD.encode(body), "cookies": {}})
        .to_string()
    }

    #[test]
    fn a_get_is_a_query_with_ansibles_answer() {
        let get = step(json!({"url": "http://localhost:8080/x", "return_content": true}));
        let out = helper_output(200, "application/json; charset=utf-8", r#"{"ok": [1, 2]}"#);
        assert!(get.plan(&section(&out)).unwrap().0.is_converged());
        let answer = get.result(&section(&out)).unwrap().unwrap();
        assert_eq!(answer["status"], json!(200));
        assert_eq!(answer["json"], json!({"ok": [1, 2]}));
        assert_eq!(answer["content"], json!(r#"{"ok": [1, 2]}"#));
        assert_eq!(answer["content_type"], json!("application/json; charset=utf-8"));
        assert_eq!(answer["content_length"], json!("14"));
        assert_eq!(answer["redirected"], json!(false));
        assert_eq!(answer["failed"], json!(false));
        // Without return_content there is no content, and a status not listed fails.
        let quiet = step(json!({"url": "http://localhost:8080/x", "status_code": [200, 204]}));
        let answer = quiet
            .result(&section(&helper_output(404, "text/html", "nope")))
            .unwrap()
            .unwrap();
        assert!(answer.get("content").is_none());
        assert_eq!(answer["failed"], json!(true));
        assert_eq!(answer["msg"], json!("Status code was 404 and not [200, 204]: OK (5 bytes)"));
        assert!(quiet.result(&section("not json")).is_err());
    }

    #[test]
    fn the_password_travels_encoded_on_stdin_and_the_url_is_masked() {
        let get = step(json!({"url": "http://u:secret@localhost/", "user": "admin", "password": "hunter2"}));
        let probe = get.probe();
        assert!(!probe.as_str().contains("hunter2"), "{}", probe.as_str());
        assert!(probe.as_str().contains("python3"));
        assert_eq!(get.target(), "GET http://u:********@localhost/");
    }

    #[test]
    fn other_methods_run_at_apply_and_creates_skips() {
        let post = step(json!({"url": "http://localhost/api", "method": "post", "body": {"a": 1}, "body_format": "json"}));
        let (diff, script) = post.plan(&section(r#"{"deferred": true}"#)).unwrap();
        assert_eq!(diff.action, Action::Run);
        assert!(script.as_str().contains("10) deploy_changed"));
        assert!(post.result(&section(r#"{"deferred": true}"#)).unwrap().is_none());
        let skipped = r#"{"skipped": "skipped, since '/tmp/x' exists"}"#;
        assert!(post.plan(&section(skipped)).unwrap().0.is_converged());
        assert!(build_step(&SPEC, json!({"url": "http://x/", "method": "get me"}), &NoContext).is_err());
        assert!(build_step(&SPEC, json!({"url": "http://x/", "status_code": ["ok"]}), &NoContext).is_err());
    }

    #[test]
    fn a_dest_converges_when_it_holds_the_body() {
        let download = step(json!({"url": "http://localhost/f", "dest": "/tmp/f"}));
        let mut same: Json = serde_json::from_str(&helper_output(200, "text/plain", "hello")).unwrap();
        same["dest_same"] = json!(true);
        assert!(download.plan(&section(&same.to_string())).unwrap().0.is_converged());
        same["dest_same"] = json!(false);
        let (diff, script) = download.plan(&section(&same.to_string())).unwrap();
        assert!(!diff.is_converged());
        assert!(script.as_str().contains("python3"));
    }

    #[test]
    fn the_helper_asks_a_server_here() {
        if std::process::Command::new("python3").arg("-V").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.json"), r#"{"up": true}"#).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = r#"{"up": true}"#;
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        });
        let get = step(json!({"url": format!("http://127.0.0.1:{port}/index.json")}));
        let out = crate::resource::support::testing::run_probe(&get.probe(), dir.path());
        server.join().unwrap();
        let answer = get.result(&out).unwrap().unwrap();
        assert_eq!(answer["status"], json!(200), "{answer}");
        assert_eq!(answer["json"], json!({"up": true}));
    }
}
