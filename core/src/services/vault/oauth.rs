//! The OAuth 2 refresh-token grant, with the `oauth2` crate.

use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, RefreshToken, RequestTokenError, TokenResponse, TokenUrl};

use super::OAuth2;
use crate::error::{OpError, OpResult};

/// New tokens from a refresh.
pub struct Refreshed {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
}

/// Exchanges the refresh token at the token endpoint.
pub async fn refresh(tokens: &OAuth2, now: i64) -> OpResult<Refreshed> {
    let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
        OpError::invalid("the credential has no refresh token; sign in again and store the new tokens")
    })?;
    let token_url = TokenUrl::new(tokens.token_url.clone())
        .map_err(|e| OpError::invalid(format!("token_url is not a URL: {e}")))?;
    let mut client = BasicClient::new(ClientId::new(tokens.client_id.clone())).set_token_uri(token_url);
    if let Some(secret) = &tokens.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    // No redirects: a token endpoint that redirects is misconfigured, and
    // following it could send the refresh token elsewhere.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| OpError::internal(format!("cannot build an HTTP client: {e}")))?;
    let response =
        client.exchange_refresh_token(&RefreshToken::new(refresh_token)).request_async(&http).await.map_err(
            |e| match e {
                RequestTokenError::ServerResponse(r) => OpError::denied(format!(
                    "the token endpoint refused the refresh token ({}); sign in again and store new tokens",
                    r.error()
                )),
                RequestTokenError::Request(e) => {
                    OpError::unavailable(format!("cannot reach the token endpoint {}: {e}", tokens.token_url))
                }
                RequestTokenError::Parse(e, _) => OpError::unavailable(format!(
                    "the token endpoint answered something that is not a token response: {e}"
                )),
                RequestTokenError::Other(e) => OpError::unavailable(format!("token refresh failed: {e}")),
            },
        )?;
    Ok(Refreshed {
        access_token: response.access_token().secret().clone(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        expires_at: response.expires_in().map(|d| now + d.as_secs() as i64),
        scopes: response.scopes().map(|s| s.iter().map(|x| x.to_string()).collect()).unwrap_or_default(),
    })
}
