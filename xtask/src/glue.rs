//! The wasm-bindgen glue's clean-up for the loader: only the streaming way to instantiate, short
//! import and closure-invoke names, the glue wrapped as one statement. Each step checks the glue's shape and
//! fails loudly, naming the step, when wasm-bindgen changes it.

use crate::Result;

/// wasm-bindgen's glue as a statement for the loader: `const glue = (() => { … return { init,
/// start, mount, login_page }; })();`. The function scope keeps its names apart from the loader's; its exports become
/// the returned object, so terser can drop what the loader doesn't use (`initSync`, …).
pub(crate) fn wrap_glue(glue: &str) -> Result<String> {
    let glue = glue
        .replacen("export function mount(", "function mount(", 1)
        .replacen("export function start(", "function start(", 1)
        .replacen("export function login_page(", "function login_page(", 1)
        .replacen("export class Button", "class Button", 1)
        .replacen("export { initSync, __wbg_init as default };", "", 1)
        .replacen(
            "console.warn('using deprecated parameters for the initialization function; pass a single object instead')",
            "",
            1,
        )
        // `Debug` of a JsValue (only in Rust panic messages): `String(v)` instead of the ~1 KB
        // pretty-printer, which terser then drops.
        .replacen("const ret = debugString(arg1);", "const ret = String(arg1);", 1);
    let unknown: Vec<&str> = glue
        .lines()
        .filter(|l| l.trim_start().starts_with("export "))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "the wasm-bindgen glue has exports xtask's wrap_glue does not know ({unknown:?}); update it"
        )
        .into());
    }
    Ok(format!(
        "\nconst glue = (() => {{\n{glue}\nreturn {{ init: __wbg_init, start, mount, login_page }};\n}})();\n"
    ))
}

/// Renames the glue's imports (`__wbg_addEventListener_847fd86b8c33ec43` → `b`) and
/// closure-invoke exports in both the wasm and the glue: the hashes in ~100 names are random
/// text that no compressor can shrink (≈ 1.5 KB brotli).
pub(crate) fn shorten_names(module: &mut walrus::Module, js: &str) -> Result<String> {
    let mut js = js.to_owned();
    let short = |mut i: usize| {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut s = String::new();
        loop {
            s.push(LETTERS[i % LETTERS.len()] as char);
            i /= LETTERS.len();
            if i == 0 {
                return s;
            }
        }
    };
    let ids: Vec<_> = module
        .imports
        .iter()
        .filter(|i| i.module == "./milogin_bg.js")
        .map(|i| i.id())
        .collect();
    for (n, id) in ids.into_iter().enumerate() {
        let import = module.imports.get_mut(id);
        let (old, new) = (
            format!("{}: function(", import.name),
            format!("{}: function(", short(n)),
        );
        if js.matches(&old).count() != 1 {
            return Err(format!(
                "glue: import `{}` not found once; update xtask's shorten_names",
                import.name
            )
            .into());
        }
        js = js.replacen(&old, &new, 1);
        import.name = short(n);
    }
    // The imports' module name too: one letter instead of `./milogin_bg.js` in each of the
    // ~120 imports (≈ 1.8 KB raw).
    const MODULE: &str = "\"./milogin_bg.js\": import0";
    if js.matches(MODULE).count() != 1 {
        return Err(
            "glue: the imports object's module name not found once; update xtask's shorten_names"
                .into(),
        );
    }
    js = js.replacen(MODULE, "a: import0", 1);
    for import in module.imports.iter_mut() {
        if import.module == "./milogin_bg.js" {
            import.module = "a".into();
        }
    }
    let invokers = module
        .exports
        .iter_mut()
        .filter(|e| e.name.starts_with("wasm_bindgen__convert__closures"));
    for (n, export) in invokers.enumerate() {
        let new = format!("__inv{n}");
        js = js.replace(&export.name, &new);
        export.name = new;
    }
    Ok(js)
}

/// wasm-bindgen's instantiation for the one way the loader does it: `init({module_or_path})` with
/// the URL of the content-hashed wasm on the milogin server, which serves it as
/// `application/wasm`. `__wbg_init_once` fetches that URL and `__wbg_load` instantiates the
/// response streaming; their other branches (a string, a `Request`, a `BufferSource` or a
/// `Module` instead of a URL object; a wrong MIME type, answered with `arrayBuffer()` and a long
/// warning) are never taken, and a server that sends the wrong type gets the browser's own error,
/// which the loader's `ready` handler logs with what to check. ≈ 0.25 KB brotli.
pub fn streaming_only(glue: &str) -> Result<String> {
    let glue = replace_fn(
        glue,
        "async function __wbg_load(module, imports) {",
        "function expectedResponseType(",
        "return false;",
        2,
        "\n    if (!module.ok) throw new Error(`failed to fetch Wasm: ${module.status} ${module.url}`);\
         \n    return WebAssembly.instantiateStreaming(module, imports);\n}",
    )?;
    replace_fn(
        &glue,
        "async function __wbg_init_once(module_or_path) {",
        "const imports = __wbg_get_imports();",
        "return __wbg_finalize_init(instance, module);",
        1,
        "\n    const { instance, module } = await __wbg_load(await fetch(module_or_path.module_or_path), __wbg_get_imports());\
         \n    return __wbg_finalize_init(instance, module);\n}",
    )
}

/// Replaces the function that starts with `head`, contains `inner` and then `last`, and ends at
/// the `closes`-th `}` after `last`, by `head` + `body`. Fails, naming `head`, when any of them
/// is missing: the glue changed shape, so look again.
fn replace_fn(
    glue: &str,
    head: &str,
    inner: &str,
    last: &str,
    closes: usize,
    body: &str,
) -> Result<String> {
    let changed = || format!("glue: `{head}` changed shape; update xtask's glue clean-up");
    let start = glue.find(head).ok_or_else(changed)?;
    let mut end = glue[start..]
        .find(inner)
        .and_then(|i| glue[start + i..].find(last).map(|j| start + i + j))
        .ok_or_else(changed)?;
    for _ in 0..closes {
        end += glue[end..].find('}').ok_or_else(changed)? + 1;
    }
    Ok([&glue[..start], head, body, &glue[end..]].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two functions as wasm-bindgen 0.2.130 writes them (shortened where nothing is cut).
    const GLUE: &str = "let wasm;
async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        try { return await WebAssembly.instantiateStreaming(module, imports); }
        catch (e) { console.warn(\"`WebAssembly.instantiateStreaming` failed\", e); }
        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    }
    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module) {}
async function __wbg_init_once(module_or_path) {
    if (module_or_path !== undefined) {}
    const imports = __wbg_get_imports();
    if (typeof module_or_path === 'string') { module_or_path = fetch(module_or_path); }
    const { instance, module } = await __wbg_load(await module_or_path, imports);
    return __wbg_finalize_init(instance, module);
}
export { initSync };
";

    #[test]
    fn the_glue_keeps_only_the_loaders_way_to_instantiate() {
        let js = streaming_only(GLUE).unwrap();
        assert!(
            !js.contains("arrayBuffer") && !js.contains("console.warn"),
            "{js}"
        );
        assert!(
            !js.contains("expectedResponseType") && !js.contains("typeof module_or_path"),
            "{js}"
        );
        assert!(js.contains("return WebAssembly.instantiateStreaming(module, imports);\n}\n\nfunction initSync(module) {}"), "{js}");
        assert!(
            js.contains("await fetch(module_or_path.module_or_path)"),
            "{js}"
        );
        assert!(
            js.ends_with(
                "return __wbg_finalize_init(instance, module);\n}\nexport { initSync };\n"
            ),
            "{js}"
        );
    }

    #[test]
    fn a_glue_of_another_shape_is_refused_by_name() {
        let other = GLUE.replace("function expectedResponseType(", "function isResponse(");
        let e = streaming_only(&other).unwrap_err().to_string();
        assert!(e.contains("__wbg_load"), "{e}");
        let e = streaming_only("let wasm;").unwrap_err().to_string();
        assert!(e.contains("__wbg_load"), "{e}");
    }
}
