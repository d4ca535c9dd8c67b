//! Parsing the macro's tokens: the macro's own options, and the inline plan as a plan document
//! tree whose spans are indices into a table of token spans.
//!
//! Values: `"strings"`, integers, `true`/`false`, `[arrays]`, `{ tables }`, and bare words
//! (`greeter`, `required`, `read-only`), which read as strings. Keys are words (`timeout-ms`
//! is one key) or string literals (`"example:greet/greeter"`). Either `:` or `=` separates a
//! key from its value.

use compose_model::Code;
use compose_model::plan::{Kind, Node};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitInt, LitStr, Token, braced, bracketed};

use crate::coded;

/// A parsed invocation.
pub struct Input {
    /// `path = "compose.toml"`: the plan file, with the literal's span.
    pub path: Option<LitStr>,
    /// `type = Name`: the generated type's name.
    pub type_name: Option<Ident>,
    /// `workspace = "../guests"`: where `crate` sources come from.
    pub workspace: Option<LitStr>,
    /// `precompile = false`.
    pub precompile: Option<LitBool>,
    /// `provenance = true`.
    pub provenance: Option<LitBool>,
    /// The inline plan: every other entry, as a document tree.
    pub document: Node,
    /// Whether the invocation has inline plan fields.
    pub inline: bool,
    /// The spans that document spans index into.
    pub spans: Vec<Span>,
    /// Option errors (repeated or wrongly typed options).
    pub errors: Vec<syn::Error>,
}

impl Input {
    /// The token span a document span refers to.
    pub fn span(&self, range: Option<&std::ops::Range<usize>>) -> Span {
        range
            .and_then(|r| self.spans.get(r.start))
            .copied()
            .unwrap_or_else(Span::call_site)
    }
}

/// Records spans while parsing.
struct Spans(Vec<Span>);

impl Spans {
    fn add(&mut self, span: Span) -> Option<std::ops::Range<usize>> {
        self.0.push(span);
        Some(self.0.len() - 1..self.0.len())
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut out = Input {
            path: None,
            type_name: None,
            workspace: None,
            precompile: None,
            provenance: None,
            document: Node {
                kind: Kind::Table(Vec::new()),
                span: None,
            },
            inline: false,
            spans: Vec::new(),
            errors: Vec::new(),
        };
        let mut spans = Spans(Vec::new());
        // The short form: `compose!("compose.toml")`.
        if input.peek(LitStr) && !(input.peek2(Token![:]) || input.peek2(Token![=])) {
            let lit: LitStr = input.parse()?;
            if !input.is_empty() {
                return Err(input.error(
                    coded(Code::MacroSyntax, "unexpected tokens after the plan file; write `compose!(\"compose.toml\")` or `compose!(path = \"compose.toml\", …)`"),
                ));
            }
            out.path = Some(lit);
            return Ok(out);
        }
        // An optional outer brace, as in `bindgen!({ … })`.
        let content;
        let body: ParseStream = if input.peek(syn::token::Brace) && braced_alone(input) {
            braced!(content in input);
            &content
        } else {
            input
        };
        let mut entries = Vec::new();
        while !body.is_empty() {
            let (key, key_span) = parse_key(body)?;
            separator(body, &key)?;
            match key.as_str() {
                "path" => set(&mut out.path, body.parse()?, &mut out.errors, key_span),
                "type" => set(
                    &mut out.type_name,
                    body.call(Ident::parse_any)?,
                    &mut out.errors,
                    key_span,
                ),
                "workspace" => set(&mut out.workspace, body.parse()?, &mut out.errors, key_span),
                "precompile" => set(
                    &mut out.precompile,
                    body.parse()?,
                    &mut out.errors,
                    key_span,
                ),
                "provenance" => set(
                    &mut out.provenance,
                    body.parse()?,
                    &mut out.errors,
                    key_span,
                ),
                _ => {
                    let value = parse_value(body, &mut spans)?;
                    let ks = spans.add(key_span);
                    entries.push((key, ks, value));
                }
            }
            if body.is_empty() {
                break;
            }
            body.parse::<Token![,]>()?;
        }
        out.inline = !entries.is_empty();
        out.document = Node {
            kind: Kind::Table(entries),
            span: spans.add(Span::call_site()),
        };
        out.spans = spans.0;
        Ok(out)
    }
}

/// Whether the input is exactly one braced group (the `bindgen!({ … })` form).
fn braced_alone(input: ParseStream) -> bool {
    let fork = input.fork();
    matches!(
        fork.parse::<proc_macro2::TokenTree>(),
        Ok(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace
    ) && fork.is_empty()
}

fn set<T>(slot: &mut Option<T>, value: T, errors: &mut Vec<syn::Error>, span: Span) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            span,
            coded(Code::MacroOption, "this option is given twice; keep one"),
        ));
    } else {
        *slot = Some(value);
    }
}

fn separator(input: ParseStream, key: &str) -> syn::Result<()> {
    if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
    } else if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
    } else {
        return Err(input.error(coded_fmt!(
            Code::MacroSyntax,
            "expected `:` after `{key}`; write `{key}: <value>`"
        )));
    }
    Ok(())
}

/// A key: a word with dashes (`timeout-ms`, `crate`) or a string literal.
fn parse_key(input: ParseStream) -> syn::Result<(String, Span)> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Ok((lit.value(), lit.span()));
    }
    if input.peek(Ident::peek_any) {
        return word(input);
    }
    Err(input.error(coded(
        Code::MacroSyntax,
        "expected a key (a name such as `components`, or a string such as `\"wasi:cli/run\"`)",
    )))
}

/// A word: identifiers joined by dashes, read as one string.
fn word(input: ParseStream) -> syn::Result<(String, Span)> {
    let first = input.call(Ident::parse_any)?;
    let span = first.span();
    let mut text = first.to_string();
    while input.peek(Token![-]) && input.peek2(Ident::peek_any) {
        input.parse::<Token![-]>()?;
        text.push('-');
        text.push_str(&input.call(Ident::parse_any)?.to_string());
    }
    Ok((text, span))
}

fn parse_value(input: ParseStream, spans: &mut Spans) -> syn::Result<Node> {
    if input.peek(syn::token::Brace) {
        let content;
        let brace = braced!(content in input);
        let mut entries = Vec::new();
        while !content.is_empty() {
            let (key, key_span) = parse_key(&content)?;
            separator(&content, &key)?;
            let value = parse_value(&content, spans)?;
            entries.push((key, spans.add(key_span), value));
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        return Ok(Node {
            kind: Kind::Table(entries),
            span: spans.add(brace.span.join()),
        });
    }
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = bracketed!(content in input);
        let mut items = Vec::new();
        while !content.is_empty() {
            items.push(parse_value(&content, spans)?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        return Ok(Node {
            kind: Kind::Array(items),
            span: spans.add(bracket.span.join()),
        });
    }
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Ok(Node {
            kind: Kind::Str(lit.value()),
            span: spans.add(lit.span()),
        });
    }
    if input.peek(LitBool) {
        let lit: LitBool = input.parse()?;
        return Ok(Node {
            kind: Kind::Bool(lit.value),
            span: spans.add(lit.span),
        });
    }
    if input.peek(LitInt) || (input.peek(Token![-]) && input.peek2(LitInt)) {
        let negative = input.parse::<Option<Token![-]>>()?.is_some();
        let lit: LitInt = input.parse()?;
        let n: i128 = lit.base10_parse()?;
        return Ok(Node {
            kind: Kind::Int(if negative { -n } else { n }),
            span: spans.add(lit.span()),
        });
    }
    if input.peek(syn::LitFloat) {
        let lit: syn::LitFloat = input.parse()?;
        return Ok(Node {
            kind: Kind::Other("a float"),
            span: spans.add(lit.span()),
        });
    }
    if input.peek(Ident::peek_any) {
        let (text, span) = word(input)?;
        return Ok(Node {
            kind: Kind::Str(text),
            span: spans.add(span),
        });
    }
    Err(input.error(coded(
        Code::MacroSyntax,
        "expected a value: a string, an integer, `true` or `false`, a word, `[…]` or `{…}`",
    )))
}
