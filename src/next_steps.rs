//! The note `render --out` prints on stderr once the tree is written: what to do next, in
//! order, with this deployment's names (the role of a Helm chart's NOTES.txt). `-q` silences it.

use std::fmt::Write;
use std::path::Path;

use crate::render::{clients, migration, runbook};
use crate::resolve::Deployment;

/// The next steps after writing the tree of `dep` into `out`.
pub fn note(dep: &Deployment, out: &Path) -> String {
    let dir = out.display();
    let ns = &dep.namespace;
    let mut steps: Vec<String> = vec![format!(
        "kubectl create namespace {ns}   # unless it exists"
    )];
    if let Some(secret) = &dep.auth {
        steps.push(format!(
            "the Secret {name} must exist before the pods start (they refuse to start without \
             the password):\n       kubectl -n {ns} create secret generic {name} \
             --from-literal={key}=\"$(openssl rand -base64 24)\"",
            name = secret.name,
            key = secret.key,
        ));
    }
    match &dep.migration {
        Some(m) => steps.push(format!(
            "migrating from {host}:{port}: follow {dir}/{readme} (phase by phase, with \
             {dir}/{script}); do not apply {dir}/{yaml} on its own",
            host = m.from.host,
            port = m.from.port,
            readme = migration::README,
            script = migration::SCRIPT,
            yaml = crate::render::tree::GENERATED_FILE,
        )),
        None => {
            steps.push(format!(
                "kubectl apply -f {dir}/{yaml}",
                yaml = crate::render::tree::GENERATED_FILE
            ));
            if !dep.clients.is_empty() {
                steps.push(format!(
                    "point the clients at Sentinel: add {dir}/{comp} to the `components:` of \
                     their kustomization",
                    comp = clients::DIR,
                ));
            }
        }
    }
    steps.push(format!(
        "verify, fail over and troubleshoot with {dir}/{runbook}",
        runbook = runbook::RUNBOOK
    ));
    let mut text = format!("wrote {dir}. Next steps:\n");
    for (n, step) in steps.iter().enumerate() {
        let _ = writeln!(text, "  {}. {step}", n + 1);
    }
    text.push_str("(-q silences this note)\n");
    text
}
