//! The summary the runner writes: totals, per-suite totals and one result per vector.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

/// One command the runner ran for a vector.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// Arguments after `composectl`.
    pub args: Vec<String>,
    /// The exit code (`None` if killed by a signal).
    pub exit: Option<i32>,
    /// Standard output (`hex:…` when binary).
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Whether a vector passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every expectation held.
    Pass,
    /// At least one did not; `reason` says which.
    Fail,
}

/// The result of one vector.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    /// `file/tcId`, unique across the run.
    pub id: String,
    /// The vector file name.
    pub file: String,
    /// The suite of the file.
    pub suite: String,
    /// The vector's tcId.
    pub tc_id: u64,
    /// The vector's comment.
    pub comment: String,
    /// What the vector expects, e.g. `invalid E0030`.
    pub expected: String,
    /// Pass or fail.
    pub status: Status,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The commands run.
    pub steps: Vec<Step>,
}

impl CaseResult {
    /// A result for `expected`, filled in by the suite.
    pub fn new(expected: String) -> CaseResult {
        CaseResult {
            id: String::new(),
            file: String::new(),
            suite: String::new(),
            tc_id: 0,
            comment: String::new(),
            expected,
            status: Status::Pass,
            reason: None,
            steps: Vec::new(),
        }
    }

    /// Records a failed expectation (the first one is kept as the reason).
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.status = Status::Fail;
        if self.reason.is_none() {
            self.reason = Some(reason.into());
        }
    }
}

/// Totals for a suite.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    /// Vectors run.
    pub total: usize,
    /// Vectors that passed.
    pub passed: usize,
    /// Vectors that failed.
    pub failed: usize,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The summary's format.
    pub schema: &'static str,
    /// The binary under test: its file name (no folder of the machine).
    pub composectl: String,
    /// The vector folder's name.
    pub vectors: String,
    /// Totals over all suites.
    #[serde(flatten)]
    pub totals: Totals,
    /// Totals per suite.
    pub suites: BTreeMap<String, Totals>,
    /// One entry per vector.
    pub results: Vec<CaseResult>,
}

impl Summary {
    /// An empty summary.
    pub fn new(composectl: &Path, vectors: &Path) -> Summary {
        Summary {
            schema: "compose-conformance/summary-v1",
            composectl: file_name(composectl),
            vectors: file_name(vectors),
            totals: Totals::default(),
            suites: BTreeMap::new(),
            results: Vec::new(),
        }
    }

    /// Adds a result.
    pub fn push(&mut self, mut case: CaseResult) {
        case.id = format!("{}/{}", case.file, case.tc_id);
        let suite = self.suites.entry(case.suite.clone()).or_default();
        for t in [&mut self.totals, suite] {
            t.total += 1;
            match case.status {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed += 1,
            }
        }
        self.results.push(case);
    }

    /// The failed results.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|c| c.status == Status::Fail)
    }

    /// Replaces each folder of the machine in the recorded commands and their output (the
    /// vector folder, the temporary folders the vectors ran in, the binary's folder) with a
    /// placeholder name, so the summary holds no absolute path of the machine.
    pub fn redact(&mut self, folders: &[(&Path, &str)]) {
        // Absolute folders only (a relative one would match inside unrelated paths), without
        // a trailing separator (so the one after the folder stays).
        let mut pairs: Vec<(String, &str)> = folders
            .iter()
            .filter(|(p, _)| p.is_absolute())
            .map(|(p, name)| {
                (
                    p.display().to_string().trim_end_matches('/').to_owned(),
                    *name,
                )
            })
            .filter(|(p, _)| p.len() > 1)
            .collect();
        // Longest first, so a folder inside another is replaced as itself.
        pairs.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let clean = |s: &mut String| {
            for (p, name) in &pairs {
                if s.contains(p.as_str()) {
                    *s = s.replace(p.as_str(), name);
                }
            }
        };
        for case in &mut self.results {
            for step in &mut case.steps {
                step.args.iter_mut().for_each(clean);
                clean(&mut step.stdout);
                clean(&mut step.stderr);
            }
            if let Some(r) = &mut case.reason {
                clean(r);
            }
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
