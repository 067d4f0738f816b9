//! The same scenarios in a second engine, headless Firefox ESR through geckodriver: the popup
//! login, a COOP host page with its return page (on `http://localhost` and over https) and
//! without one (`popup_cut_off`), redirect
//! mode, and a live `display-name` during a login. Each test runs the scenario function that the
//! Chromium test of `browser.rs` runs, with every assertion. What differs between the engines:
//! docs/browsers.md.

use super::browser::*;
use milogin_tests::browser::Engine;

#[tokio::test]
async fn firefox_popup_login_succeeds_with_a_verifiable_token() {
    a_popup_login_succeeds_with_a_verifiable_token(Engine::Firefox).await;
}

#[tokio::test]
async fn firefox_coop_host_page_on_localhost_gets_one_result_through_the_return_page() {
    a_coop_host_page_gets_one_result(Engine::Firefox, false).await;
}

#[tokio::test]
async fn firefox_coop_host_page_over_https_gets_one_result_through_the_return_page() {
    a_coop_host_page_gets_one_result(Engine::Firefox, true).await;
}

#[tokio::test]
async fn firefox_coop_host_page_without_a_return_page_gets_popup_cut_off_not_a_cancel() {
    a_coop_host_page_without_a_return_page_gets_popup_cut_off(Engine::Firefox).await;
}

#[tokio::test]
async fn firefox_redirect_mode_comes_back_with_one_success() {
    redirect_mode_comes_back_with_one_success(Engine::Firefox).await;
}

#[tokio::test]
async fn firefox_live_display_name_keeps_the_login() {
    a_live_display_name_keeps_the_login(Engine::Firefox).await;
}

#[tokio::test]
async fn firefox_blocked_popup_is_a_popup_blocked_error() {
    a_blocked_popup_is_a_popup_blocked_error_in(Engine::Firefox).await;
}

#[tokio::test]
async fn firefox_no_token_reaches_the_history() {
    no_token_reaches_the_browsers_history(Engine::Firefox).await;
}
