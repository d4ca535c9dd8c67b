//! Validating the composed component: all of it, as `Validator::validate_all` does, with the
//! function bodies (most of the work: the output embeds every input's code) checked where
//! they cost the least wall time.
//!
//! The output embeds each distinct input component byte for byte (wasm-compose's
//! `define_components`), and so their core modules. [`inputs`] validates the inputs' core
//! modules, each whole (bodies included), on a helper thread while the composition is being
//! made and validated; [`output`] validates the output whole, except for the bodies of the
//! core modules whose bytes are exactly those of one the helper has found valid by the time
//! their turn comes (neither thread waits for the other). Those bodies have been checked
//! already: a core module's function bodies are valid or not by the module's own bytes alone
//! (its types, functions, tables, memories and globals: a core module cannot refer to
//! anything outside itself), and both validators have the same features
//! (`Validator::new()`'s). Everything else in the output (its own sections, every nested
//! component's sections and every module's other sections, the instantiations that
//! type-check the wiring) is validated as before. A module that is not valid is simply not in
//! the list, so its bodies are checked in the output and the error is the output's, as it was.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use wasmparser::{
    BinaryReaderError, FuncToValidate, FunctionBody, Parser, Payload, ValidPayload, Validator,
    ValidatorResources,
};

/// How much function code (bytes) makes starting another validating thread worth it. On a
/// small composition, starting a thread costs about what it saves (measured on the
/// two-component example, 110 KiB of code, on two cores).
const CODE_PER_THREAD: usize = 256 * 1024;

/// A module found valid: the input it is in, and where in it.
type Found = (Arc<[u8]>, Range<usize>);

/// The core modules [`inputs`] has found valid so far, read by [`output`] as it goes.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    modules: Mutex<Vec<Found>>,
    stop: AtomicBool,
}

impl Checked {
    /// Whether `module` (its bytes) has been found valid.
    fn has(&self, module: &[u8]) -> bool {
        self.modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|(input, range)| input.get(range.clone()) == Some(module))
    }

    fn add(&self, input: &Arc<[u8]>, range: Range<usize>) {
        self.modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((Arc::clone(input), range));
    }

    /// Tells [`inputs`] to stop: nobody will read its findings any more.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Validates the core modules of the components `inputs`, each whole (function bodies
/// included), adding each valid one to `checked` as soon as it is found valid, until
/// [`Checked::stop`]. Run it beside the composing and the output's validation.
pub(crate) fn inputs(inputs: &[Arc<[u8]>], checked: &Checked) {
    for input in inputs {
        for payload in Parser::new(0).parse_all(input) {
            if checked.stopped() {
                return;
            }
            let Ok(Payload::ModuleSection {
                unchecked_range, ..
            }) = payload
            else {
                continue; // (an input that does not parse has nothing to lend)
            };
            if let Some(range) = usize_range(&unchecked_range)
                && let Some(module) = input.get(range.clone())
                && validate_sharing(module, None, CODE_PER_THREAD, Some(&checked.stop)).is_ok()
                && !checked.stopped()
            {
                checked.add(input, range);
            }
        }
    }
}

/// A parser's range as indices.
fn usize_range(range: &Range<u64>) -> Option<Range<usize>> {
    Some(usize::try_from(range.start).ok()?..usize::try_from(range.end).ok()?)
}

/// Validates the composed component `bytes` whole; the function bodies of a core module whose
/// bytes equal one that `checked` holds when this comes to them are not checked again (module
/// doc). The error reported is the first in the binary's order, as `validate_all`'s is.
pub(crate) fn output(bytes: &[u8], checked: Option<&Checked>) -> Result<(), BinaryReaderError> {
    validate_sharing(bytes, checked, CODE_PER_THREAD, None).map(|_| ())
}

/// Validates `bytes`, skipping the bodies of core modules `checked` holds when their first
/// body comes up, and checking the others on a thread per `code_per_thread` bytes of their
/// code (up to the number of cores); gives up, reporting success, once `stop` is set. Returns
/// how many bodies it checked.
fn validate_sharing(
    bytes: &[u8],
    checked: Option<&Checked>,
    code_per_thread: usize,
    stop: Option<&AtomicBool>,
) -> Result<usize, BinaryReaderError> {
    /// A body to check: its place in the binary's order, its module (an index into
    /// `modules`), what validates it, and the body.
    type Func<'a> = (
        usize,
        usize,
        FuncToValidate<ValidatorResources>,
        FunctionBody<'a>,
    );
    let mut validator = Validator::new();
    let mut funcs: Vec<Func<'_>> = Vec::new();
    // The core modules' bytes, in order (a body belongs to the last one begun before it).
    let mut modules: Vec<&[u8]> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let Payload::ModuleSection {
            unchecked_range, ..
        } = &payload
        {
            let module = usize_range(unchecked_range).and_then(|r| bytes.get(r));
            modules.push(module.unwrap_or_default());
        }
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            // (a module's functions follow its section; a top-level module has none)
            let module = modules.len().saturating_sub(1);
            funcs.push((funcs.len(), module, func, body));
        }
    }
    let code: usize = funcs.iter().map(|f| f.3.as_bytes().len()).sum();
    let threads = match code / code_per_thread.max(1) {
        0 | 1 => 1, // (and no need to ask how many cores there are)
        wanted => std::thread::available_parallelism().map_or(1, |n| n.get().min(wanted)),
    };
    // Interleaved shares balance large and small functions well enough.
    let mut shares: Vec<Vec<Func<'_>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, f) in funcs.into_iter().enumerate() {
        shares[i % threads].push(f);
    }
    let in_module = !modules.is_empty();
    let modules = &modules;
    // Checks a share; the bodies it checked, or the first error.
    let check = |share: Vec<Func<'_>>| -> Result<usize, (usize, BinaryReaderError)> {
        let mut allocations = Default::default();
        let mut skip: Vec<Option<bool>> = vec![None; modules.len()];
        let mut count = 0;
        for (index, module, func, body) in share {
            if stop.is_some_and(|s| s.load(Ordering::Acquire)) {
                break;
            }
            if in_module
                && let Some(checked) = checked
                && *skip[module].get_or_insert_with(|| checked.has(modules[module]))
            {
                continue;
            }
            let mut v = func.into_validator(allocations);
            v.validate(&body).map_err(|e| (index, e))?;
            allocations = v.into_allocations();
            count += 1;
        }
        Ok(count)
    };
    let mut shares = shares.into_iter();
    let first = shares.next().unwrap_or_default();
    let results: Vec<_> = std::thread::scope(|s| {
        let others: Vec<_> = shares
            .map(|share| crate::beside::spawn(s, move || check(share)))
            .collect();
        let mut results = vec![check(first)];
        for h in others {
            results.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        results
    });
    let mut count = 0;
    let mut first_error: Option<(usize, BinaryReaderError)> = None;
    for result in results {
        match result {
            Ok(n) => count += n,
            Err(e) if first_error.as_ref().is_none_or(|f| e.0 < f.0) => first_error = Some(e),
            Err(_) => {}
        }
    }
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::{CODE_PER_THREAD, Checked, inputs, output, validate_sharing};

    /// What [`inputs`] finds valid in `components`, and how many modules that is.
    fn check_inputs(components: &[&[u8]]) -> (Checked, usize) {
        let components: Vec<Arc<[u8]>> = components.iter().map(|c| Arc::from(*c)).collect();
        let checked = Checked::default();
        inputs(&components, &checked);
        let found = checked.modules.lock().unwrap().len();
        (checked, found)
    }

    /// A core module of `n` functions; `bad` lists the ones whose body leaves the stack empty
    /// where they promise an `i32`.
    fn module(n: usize, bad: &[usize]) -> String {
        let funcs: String = (0..n)
            .map(|i| {
                if bad.contains(&i) {
                    format!("(func $f{i} (result i32))\n")
                } else {
                    format!(
                        "(func $f{i} (param i32) (result i32) local.get 0 i32.const {i} i32.add)\n"
                    )
                }
            })
            .collect();
        format!("(core module {funcs})")
    }

    /// A component with one such core module.
    fn component(n: usize, bad: &[usize]) -> Vec<u8> {
        wat::parse_str(format!("(component {})", module(n, bad))).unwrap()
    }

    fn validate_all(bytes: &[u8]) -> Result<(), String> {
        wasmparser::Validator::new()
            .validate_all(bytes)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn agrees_with_validate_all() {
        for (n, bad) in [
            (0, vec![]),
            (1, vec![]),
            (100, vec![]),
            (100, vec![0]),
            (100, vec![57]),
            (100, vec![99, 3, 40]), // the first in the binary is reported
        ] {
            let bytes = component(n, &bad);
            let theirs = validate_all(&bytes);
            // One thread (these are small), and as many threads as there are cores.
            for ours in [
                output(&bytes, None),
                output(&bytes, Some(&Checked::default())),
                validate_sharing(&bytes, None, 1, None).map(|_| ()),
            ] {
                let ours = ours.map_err(|e| e.to_string());
                assert_eq!(ours, theirs, "{n} functions, bad: {bad:?}");
                assert_eq!(ours.is_err(), !bad.is_empty());
            }
        }
    }

    /// An outer component embedding `inner` (a component's text) and, beside it, a module of
    /// its own with `own` functions (`own_bad` invalid), as a composition embeds its inputs.
    fn outer(inner: &str, own: usize, own_bad: &[usize]) -> Vec<u8> {
        wat::parse_str(format!("(component {inner} {})", module(own, own_bad))).unwrap()
    }

    #[test]
    fn only_the_bodies_of_embedded_inputs_found_valid_are_not_checked_again() {
        let input_text = format!("(component {} {})", module(30, &[]), module(7, &[]));
        let input = wat::parse_str(&input_text).unwrap();
        let (checked, found) = check_inputs(&[&input]);
        assert_eq!(found, 2, "both modules are valid");
        let composed = outer(&input_text, 5, &[]);
        // The embedded input's 37 bodies are skipped, the outer module's 5 checked.
        assert_eq!(
            validate_sharing(&composed, Some(&checked), CODE_PER_THREAD, None).ok(),
            Some(5)
        );
        assert_eq!(
            validate_sharing(&composed, None, CODE_PER_THREAD, None).ok(),
            Some(42)
        );
        // A checked input does not excuse the output's own code.
        let bad_own = outer(&input_text, 5, &[2]);
        assert!(validate_all(&bad_own).is_err());
        assert_eq!(
            output(&bad_own, Some(&checked)).map_err(|e| e.to_string()),
            validate_all(&bad_own)
        );
    }

    #[test]
    fn an_input_not_valid_whole_is_checked_in_the_output() {
        // Valid as far as wasm-compose's parse looks (no bodies), invalid in a body of its
        // second module.
        let bad_text = format!("(component {} {})", module(3, &[]), module(30, &[17]));
        let bad = wat::parse_str(&bad_text).unwrap();
        let (checked, found) = check_inputs(&[&bad]);
        assert_eq!(found, 1, "only the first module is valid");
        let composed = outer(&bad_text, 5, &[]);
        let theirs = validate_all(&composed);
        assert!(theirs.is_err());
        assert_eq!(
            output(&composed, Some(&checked)).map_err(|e| e.to_string()),
            theirs
        );
        // Only byte-equal modules are skipped: the valid module of another input (the same
        // functions but the invalid one) does not excuse the embedded invalid one.
        let good = wat::parse_str(format!("(component {})", module(30, &[]))).unwrap();
        let (other, found) = check_inputs(&[&good]);
        assert_eq!(found, 1);
        assert_eq!(
            output(&composed, Some(&other)).map_err(|e| e.to_string()),
            theirs
        );
    }

    #[test]
    fn once_stopped_nothing_more_is_found_valid() {
        let input: Arc<[u8]> = component(50, &[]).into();
        let checked = Checked::default();
        checked.stop();
        inputs(&[input], &checked);
        assert!(checked.modules.lock().unwrap().is_empty());
        // And a validation told to stop gives up before checking any body.
        let stop = AtomicBool::new(true);
        assert_eq!(
            validate_sharing(&component(50, &[3]), None, CODE_PER_THREAD, Some(&stop)).ok(),
            Some(0)
        );
    }
}
