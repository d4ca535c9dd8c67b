//! Validating the composed component: all of it, as `Validator::validate_all` does, with the
//! function bodies (most of the work: the output embeds every input's code) checked where
//! they cost the least wall time.
//!
//! The output embeds each distinct input component byte for byte (wasm-compose's
//! `define_components`), and so their core modules. [`inputs`] validates the inputs' core
//! modules, each whole (bodies included), on a second thread while the composition is being
//! made; [`output`] then validates the output whole, except for the bodies of the core
//! modules whose bytes are exactly those of one found valid. Those bodies have been checked
//! already: a core module's function bodies are valid or not by the module's own bytes alone
//! (its types, functions, tables, memories and globals: a core module cannot refer to
//! anything outside itself), and both validators have the same features
//! (`Validator::new()`'s). Everything else in the output (its own sections, every nested
//! component's sections and every module's other sections, the instantiations that
//! type-check the wiring) is validated as before. A module that is not valid is simply not in
//! the list, so its bodies are checked in the output and the error is the output's, as it was.

use std::ops::Range;

use wasmparser::{
    BinaryReaderError, FuncToValidate, FunctionBody, Parser, Payload, ValidPayload, Validator,
    ValidatorResources,
};

/// How much function code (bytes) makes starting another validating thread worth it. On a
/// small composition, starting a thread costs about what it saves (measured on the
/// two-component example, 110 KiB of code, on two cores).
const CODE_PER_THREAD: usize = 256 * 1024;

/// The core modules of the components `inputs` that are valid (function bodies included),
/// as slices of `inputs`, for [`output`]. Run it beside the composing.
pub(crate) fn inputs<'a>(inputs: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut valid = Vec::new();
    for input in inputs {
        for payload in Parser::new(0).parse_all(input) {
            let Ok(Payload::ModuleSection {
                unchecked_range, ..
            }) = payload
            else {
                continue; // (an input that does not parse has nothing to lend)
            };
            if let Some(module) = slice(input, &unchecked_range)
                && validate_sharing(module, &[], CODE_PER_THREAD).is_ok()
            {
                valid.push(module);
            }
        }
    }
    valid
}

/// `bytes[range]`, if it is in bounds.
fn slice<'a>(bytes: &'a [u8], range: &Range<u64>) -> Option<&'a [u8]> {
    let start = usize::try_from(range.start).ok()?;
    let end = usize::try_from(range.end).ok()?;
    bytes.get(start..end)
}

/// Validates the composed component `bytes` whole; the function bodies of a core module whose
/// bytes equal one of `checked` (from [`inputs`]) are not checked again (module doc).
/// The error reported is the first in the binary's order, as `validate_all`'s is.
pub(crate) fn output(bytes: &[u8], checked: &[&[u8]]) -> Result<(), BinaryReaderError> {
    validate_sharing(bytes, checked, CODE_PER_THREAD).map(|_| ())
}

/// Validates `bytes`, skipping the bodies of core modules equal to one of `checked`, and
/// checking the others on a thread per `code_per_thread` bytes of their code
/// (up to the number of cores). Returns how many bodies it checked.
fn validate_sharing(
    bytes: &[u8],
    checked: &[&[u8]],
    code_per_thread: usize,
) -> Result<usize, BinaryReaderError> {
    type Func<'a> = (usize, FuncToValidate<ValidatorResources>, FunctionBody<'a>);
    let mut validator = Validator::new();
    let mut funcs: Vec<Func<'_>> = Vec::new();
    // Where the core modules equal to a checked one lie in `bytes`.
    let mut done: Vec<Range<u64>> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let Payload::ModuleSection {
            unchecked_range, ..
        } = &payload
            && let Some(module) = slice(bytes, unchecked_range)
            && checked.contains(&module)
        {
            done.push(unchecked_range.clone());
        }
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let start = body.range().start;
            if !done.iter().any(|r| r.contains(&start)) {
                funcs.push((funcs.len(), func, body));
            }
        }
    }
    let count = funcs.len();
    let code: usize = funcs.iter().map(|(_, _, body)| body.as_bytes().len()).sum();
    let threads = match code / code_per_thread.max(1) {
        0 | 1 => 1, // (and no need to ask how many cores there are)
        wanted => std::thread::available_parallelism().map_or(1, |n| n.get().min(wanted)),
    };
    // Interleaved shares balance large and small functions well enough.
    let mut shares: Vec<Vec<Func<'_>>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, f) in funcs.into_iter().enumerate() {
        shares[i % threads].push(f);
    }
    let check = |share: Vec<Func<'_>>| -> Option<(usize, BinaryReaderError)> {
        let mut allocations = Default::default();
        for (index, func, body) in share {
            let mut v = func.into_validator(allocations);
            if let Err(e) = v.validate(&body) {
                return Some((index, e));
            }
            allocations = v.into_allocations();
        }
        None
    };
    let mut shares = shares.into_iter();
    let first = shares.next().unwrap_or_default();
    let errors: Vec<(usize, BinaryReaderError)> = std::thread::scope(|s| {
        let others: Vec<_> = shares
            .map(|share| crate::beside::spawn(s, move || check(share)))
            .collect();
        let mut errors: Vec<_> = check(first).into_iter().collect();
        for h in others {
            errors.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        errors
    });
    match errors.into_iter().min_by_key(|(i, _)| *i) {
        Some((_, e)) => Err(e),
        None => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use super::{CODE_PER_THREAD, inputs, output, validate_sharing};

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
                output(&bytes, &[]),
                validate_sharing(&bytes, &[], 1).map(|_| ()),
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
        let checked = inputs(&[&input]);
        assert_eq!(checked.len(), 2, "both modules are valid");
        let composed = outer(&input_text, 5, &[]);
        // The embedded input's 37 bodies are skipped, the outer module's 5 checked.
        assert_eq!(
            validate_sharing(&composed, &checked, CODE_PER_THREAD).ok(),
            Some(5)
        );
        assert_eq!(
            validate_sharing(&composed, &[], CODE_PER_THREAD).ok(),
            Some(42)
        );
        // A checked input does not excuse the output's own code.
        let bad_own = outer(&input_text, 5, &[2]);
        assert!(validate_all(&bad_own).is_err());
        assert_eq!(
            output(&bad_own, &checked).map_err(|e| e.to_string()),
            validate_all(&bad_own)
        );
    }

    #[test]
    fn an_input_not_valid_whole_is_checked_in_the_output() {
        // Valid as far as wasm-compose's parse looks (no bodies), invalid in a body of its
        // second module.
        let bad_text = format!("(component {} {})", module(3, &[]), module(30, &[17]));
        let bad = wat::parse_str(&bad_text).unwrap();
        let checked = inputs(&[&bad]);
        assert_eq!(checked.len(), 1, "only the first module is valid");
        let composed = outer(&bad_text, 5, &[]);
        let theirs = validate_all(&composed);
        assert!(theirs.is_err());
        assert_eq!(
            output(&composed, &checked).map_err(|e| e.to_string()),
            theirs
        );
        // Only byte-equal modules are skipped: the valid module of another input (the same
        // functions but the invalid one) does not excuse the embedded invalid one.
        let good = wat::parse_str(format!("(component {})", module(30, &[]))).unwrap();
        let other = inputs(&[&good]);
        assert_eq!(other.len(), 1);
        assert_eq!(output(&composed, &other).map_err(|e| e.to_string()), theirs);
    }
}
