//! The project's own WIT packages that the host implements: a component that imports one of
//! them from the host must have been built against a shape the host provides.

use compose_model::Code;
use compose_model::host::host_package;
use compose_model::plan::Diagnostic;
use compose_wit::{Item, Wit, check_subset};

/// The WIT of the project's packages that the host implements, by package name: a
/// host-bound import of one of them must be part of the package's interface of that name.
const HOST_WIT: &[(&str, &str)] = &[(
    "std:secrets",
    include_str!("../../wit/std-secrets/secrets.wit"),
)];

/// For an import of one of the host's own packages ([`HOST_WIT`]; `std:secrets/store`, with or
/// without `@version`): the package's WIT and the interface's plain name.
pub(crate) fn host_interface(import: &str) -> Option<(&'static str, &str)> {
    let package = host_package(import)?;
    let interface = import.split_once('/')?.1;
    let interface = interface.split_once('@').map_or(interface, |(i, _)| i);
    HOST_WIT
        .iter()
        .find(|(p, _)| *p == package.package)
        .map(|(_, wit)| (*wit, interface))
}

/// Checks that a host-bound import of one of the project's own packages has a shape the host
/// provides: the import must be part of the package's interface of that name.
pub(crate) fn check_host_import(
    name: &str,
    import: &str,
    wit: &Wit,
    item: Item,
    path: &str,
) -> Option<Diagnostic> {
    let (text, interface) = host_interface(import)?;
    let host = Wit::from_str(import, text).expect("the project's WIT packages parse (tested)");
    let mismatch = |why: String| {
        Some(Diagnostic::new(
            Code::EmitShapeMismatch,
            path,
            format!(
                "`{name}` imports `{import}` from the host, but {why}; rebuild `{name}` against the WIT in the project's `wit/` folder"
            ),
        ))
    };
    let Ok(host_item) = host.find(interface) else {
        return mismatch(format!("the host's package has no interface `{interface}`"));
    };
    let (imp, exp) = (wit.form(item), host.form(host_item));
    match check_subset(&imp, &exp) {
        Ok(()) => None,
        Err(why) => mismatch(format!(
            "its shape (identity `{}`) is not part of what the host provides (identity `{}`): {why}",
            wit.id(item),
            host.id(host_item)
        )),
    }
}
