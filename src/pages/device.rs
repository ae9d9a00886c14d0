//! The device verification pages (RFC 8628 §3.3): typing the user code, the consent screen with
//! the remote-phishing warning (§5.4), and the outcome.

use gatehouse_core::csrf;
use gatehouse_core::device::verification::{
    DECISION_FIELD, DeviceConsentPrompt, USER_CODE_FIELD, UserCodePrompt,
};
use gatehouse_core::error::OAuthError;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{document, hidden};

/// The form to type the code into, carrying `csrf_token`.
pub fn device_entry(prompt: &UserCodePrompt, csrf_token: &str) -> String {
    let error = prompt
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", text(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Connect a device to {app}</h1>{error}\
         <p>Type the code your device or command-line tool shows. Signed in as <strong>{email}</strong>.</p>\
         <form method=\"post\" action=\"{action}\">\
         <label for=\"{field}\">Code</label>\
         <input id=\"{field}\" type=\"text\" name=\"{field}\" value=\"{code}\" placeholder=\"XXXX-XXXX\" \
         autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"32\" required autofocus>\
         {csrf}<button type=\"submit\">Continue</button></form>",
        app = text(&prompt.app_name),
        email = text(&prompt.person_email),
        action = attr(&prompt.action),
        field = USER_CODE_FIELD,
        code = attr(&prompt.user_code),
        csrf = hidden(csrf::FIELD, csrf_token),
    );
    document("Connect a device", &body)
}

/// The consent screen for the request behind a typed code, carrying `csrf_token`.
pub fn device_consent(prompt: &DeviceConsentPrompt, csrf_token: &str) -> String {
    let scopes: String = prompt
        .scopes
        .iter()
        .map(|(scope, description)| match description.as_str() {
            "" => format!("<li><code>{}</code></li>", text(scope)),
            d => format!("<li><code>{}</code>: {}</li>", text(scope), text(d)),
        })
        .collect();
    let body = format!(
        "<h1>Allow {client} to act for you?</h1>\
         <p class=\"warn\" role=\"note\"><strong>Only continue if you started this yourself</strong>, \
         on a device or in a terminal in front of you, and it shows the code <code>{code}</code>. \
         If someone sent you this code or a link to this page, deny: they are trying to get access \
         in your name.</p>\
         <p><strong>{client}</strong> <span class=\"small\">(name not verified: the agent chose it when it \
         registered; client id <code>{client_id}</code>)</span> \
         asks to use <strong>{app}</strong> <span class=\"small\">({app_url})</span> as \
         <strong>{email}</strong>, with these permissions:</p><ul class=\"scopes\">{scopes}</ul>\
         <p class=\"small\">Everything it does will be recorded as done by this agent on your behalf. \
         You can withdraw this permission at any time.</p>\
         <form method=\"post\" action=\"{action}\">{user_code}{csrf}\
         <button type=\"submit\" name=\"{decision}\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"{decision}\" value=\"deny\">Deny</button></form>",
        client = text(&prompt.client_name),
        client_id = text(&prompt.client_id),
        code = text(&prompt.user_code),
        app = text(&prompt.app_name),
        app_url = text(&prompt.app_url),
        email = text(&prompt.person_email),
        action = attr(&prompt.action),
        user_code = hidden(USER_CODE_FIELD, &prompt.user_code),
        csrf = hidden(csrf::FIELD, csrf_token),
        decision = DECISION_FIELD,
    );
    document("Allow access?", &body)
}

/// The outcome, once decided.
pub fn device_done(approved: bool, app_name: &str) -> String {
    let body = if approved {
        format!(
            "<h1>Device connected</h1><p>The device can now use <strong>{}</strong> for you. \
             You can return to it; this page can be closed.</p>",
            text(app_name)
        )
    } else {
        "<h1>Request denied</h1><p>The device was not given access. This page can be closed.</p>"
            .to_owned()
    };
    document("Device", &body)
}

/// A refusal: the app's policy, too many wrong codes, or an expired form.
pub fn device_refused(error: &OAuthError) -> String {
    let body = format!(
        "<h1>This device cannot be connected</h1><p class=\"error\">{}</p>\
         <p class=\"small\">Error code: <code>{}</code>.</p>",
        text(error.description),
        error.code.as_str()
    );
    document("Error", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> DeviceConsentPrompt {
        DeviceConsentPrompt {
            client_name: "<script>alert(1)</script>".into(),
            client_id: "c_1".into(),
            app_name: "Wiki & <b>Docs</b>".into(),
            app_url: "https://wiki.example".into(),
            scopes: vec![("read".into(), "Read <pages>".into())],
            person_email: "alice@example.com".into(),
            user_code: "WDJB-MJHT".into(),
            action: "/.gatehouse/device".into(),
        }
    }

    #[test]
    fn the_consent_screen_escapes_names_and_warns_about_codes_from_others() {
        let page = device_consent(&consent(), "t0ken");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("Wiki &amp; &lt;b&gt;Docs&lt;/b&gt;"));
        assert!(page.contains("Only continue if you started this yourself"));
        assert!(
            page.contains("name not verified"),
            "issue 17: self-chosen names are marked"
        );
        assert!(page.contains("name=\"csrf_token\" value=\"t0ken\""));
        assert!(page.contains("name=\"user_code\" value=\"WDJB-MJHT\""));
        assert!(page.contains("value=\"approve\"") && page.contains("value=\"deny\""));
    }

    #[test]
    fn the_entry_form_fills_in_the_code_escaped_and_carries_csrf() {
        let prompt = UserCodePrompt {
            app_name: "Wiki".into(),
            person_email: "alice@example.com".into(),
            user_code: "\"><x".into(),
            error: Some("That code is wrong"),
            action: "/docs/.gatehouse/device".into(),
        };
        let page = device_entry(&prompt, "t0ken");
        assert!(!page.contains("\"><x"), "{page}");
        assert!(page.contains("action=\"/docs/.gatehouse/device\""));
        assert!(page.contains("name=\"csrf_token\" value=\"t0ken\""));
        assert!(page.contains("That code is wrong"));
    }
}
