//! Generates the wire-level client from the hand-maintained OpenAPI document.
//!
//! `openapi/participants.openapi.json` → progenitor → `$OUT_DIR/generated.rs`, which
//! `src/generated.rs` includes. Editing the document re-runs this script.

use std::{env, fs, path::PathBuf, process::exit};

use progenitor::{GenerationSettings, Generator, InterfaceStyle, TypeImpl};

const SPEC: &str = "openapi/participants.openapi.json";

/// Component schemas whose wire type is the hand-written SID newtype in `src/sid.rs`
/// (validated without a regex on the decode hot path; see openapi/README.md).
const SID_REPLACEMENTS: &[(&str, &str)] = &[
    ("AccountSid", "crate::sid::AccountSid"),
    ("ChatServiceSid", "crate::sid::ServiceSid"),
    ("ConversationSid", "crate::sid::ConversationSid"),
    ("ParticipantSid", "crate::sid::ParticipantSid"),
    ("RoleSid", "crate::sid::RoleSid"),
    ("UserSid", "crate::sid::UserSid"),
];

/// The serde attribute typify puts on every required, nullable response field.
const OPTION_FIELD: &str = r#"deserialize_with = "::std::option::Option::deserialize""#;

/// Points the `Option<DateTime<Utc>>` fields of the response types at `src/time.rs`, which
/// reads and writes Twilio's fixed date form without chrono's general parser. The field
/// type stays `chrono::DateTime<Utc>`; only the serde attribute changes. Returns how many
/// fields it changed.
fn fast_dates(items: &mut [syn::Item]) -> usize {
    use quote::ToTokens;
    use syn::{parse_quote, Fields, Item, Meta};
    let mut changed = 0;
    for item in items {
        match item {
            Item::Mod(module) => {
                if let Some((_, items)) = &mut module.content {
                    changed += fast_dates(items);
                }
            }
            Item::Struct(item) => {
                let Fields::Named(fields) = &mut item.fields else {
                    continue;
                };
                for field in &mut fields.named {
                    if !field.ty.to_token_stream().to_string().contains("DateTime") {
                        continue;
                    }
                    for attr in &mut field.attrs {
                        let Meta::List(list) = &attr.meta else {
                            continue;
                        };
                        if list.path.is_ident("serde") && list.tokens.to_string() == OPTION_FIELD {
                            *attr = parse_quote!(#[serde(
                                deserialize_with = "crate::time::deserialize_option",
                                serialize_with = "crate::time::serialize_option"
                            )]);
                            changed += 1;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    changed
}

/// The list operation whose page body can also be decoded into a type of the caller's.
const LIST_OPERATION: &str = "list_service_conversation_participant";

/// Adds `<LIST_OPERATION>_as::<T>`: the generated list method, request, hooks and status
/// handling unchanged, whose 200 body decodes into any `T` instead of `ParticipantPage`
/// (the raw-JSON stream decodes into a page of raw participants; see
/// `src/raw_participant.rs`). Returns whether it found the method.
fn generic_list_body(items: &mut [syn::Item]) -> bool {
    use syn::{parse_quote, ImplItem, Item};
    for item in items {
        let Item::Impl(block) = item else {
            continue;
        };
        let Some(method) = block.items.iter().find_map(|item| match item {
            ImplItem::Fn(method) if method.sig.ident == LIST_OPERATION => Some(method),
            _ => None,
        }) else {
            continue;
        };
        let mut generic = method.clone();
        generic.sig.ident = quote::format_ident!("{LIST_OPERATION}_as");
        generic
            .sig
            .generics
            .params
            .push(parse_quote!(T: ::serde::de::DeserializeOwned));
        generic.sig.output = parse_quote!(
            -> Result<ResponseValue<T>, Error<types::TwilioError>>
        );
        generic.attrs = vec![parse_quote!(
            #[doc = "The list request above, its 200 body decoded into `T`."]
        )];
        block.items.push(ImplItem::Fn(generic));
        return true;
    }
    false
}

/// How the generated code decodes a JSON body, and what decodes it instead: the same
/// outcomes, with the body checked for UTF-8 once rather than string by string (see
/// `src/json_body.rs`).
const FROM_RESPONSE: &str = "ResponseValue::from_response(response)";
const JSON_RESPONSE: &str = "crate::json_body::json_response(response)";

fn fail(what: &str, err: impl std::fmt::Display) -> ! {
    eprintln!("error: {SPEC}: {what}: {err}");
    exit(1)
}

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");

    let text = fs::read_to_string(SPEC).unwrap_or_else(|e| fail("cannot read", e));
    let spec: openapiv3::OpenAPI =
        serde_json::from_str(&text).unwrap_or_else(|e| fail("not an OpenAPI 3.0 document", e));

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_inner_type(
            "crate::transport::Transport"
                .parse()
                .expect("static tokens"),
        )
        .with_derive("schemars::JsonSchema")
        .with_derive("PartialEq");
    for (schema, rust_type) in SID_REPLACEMENTS {
        settings.with_replacement(
            schema,
            rust_type,
            [TypeImpl::FromStr, TypeImpl::Display].into_iter(),
        );
    }
    // Keeps unknown keys without `#[serde(flatten)]`'s buffering (see src/binding.rs).
    settings.with_replacement(
        "MessagingBinding",
        "crate::binding::MessagingBinding",
        [TypeImpl::Default].into_iter(),
    );

    // Tolerates states Twilio adds later (see src/conversation_state.rs).
    settings.with_replacement(
        "ConversationState",
        "crate::conversation_state::ConversationState",
        [TypeImpl::FromStr, TypeImpl::Display].into_iter(),
    );

    let mut generator = Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| fail("progenitor could not generate a client", e));
    let mut file: syn::File =
        syn::parse2(tokens).unwrap_or_else(|e| fail("generated code does not parse", e));
    if fast_dates(&mut file.items) == 0 {
        // The generated attribute changed form: dates still decode, through chrono alone.
        println!("cargo:warning=build.rs: no date-time field uses src/time.rs any more");
    }

    if !generic_list_body(&mut file.items) {
        fail(
            "generated code",
            format_args!("no method {LIST_OPERATION} to make generic"),
        );
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let code = prettyplease::unparse(&file);
    if !code.contains(FROM_RESPONSE) {
        fail(
            "generated code",
            format_args!("no {FROM_RESPONSE} to point at src/json_body.rs"),
        );
    }
    let code = code.replace(FROM_RESPONSE, JSON_RESPONSE);
    fs::write(out.join("generated.rs"), code)
        .unwrap_or_else(|e| fail("cannot write the generated client", e));
}
