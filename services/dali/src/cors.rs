//! Cross-origin access for browsers (the Fetch standard's CORS protocol), through
//! actix-cors: every origin, every method and header, `Access-Control-Allow-Origin: *`
//! (the services are public and take no cookies), and preflight `OPTIONS` requests answered.

/// The CORS middleware for every vogate service: wrap an `App` or a scope with it.
pub fn cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .max_age(3600)
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};

    #[actix_rt::test]
    async fn every_answer_allows_any_origin_and_preflights_are_answered() {
        let app = test::init_service(
            App::new()
                .wrap(super::cors())
                .route(
                    "/x",
                    web::get().to(|| async { HttpResponse::Ok().body("x") }),
                )
                .route(
                    "/x",
                    web::post().to(|| async { HttpResponse::Ok().body("x") }),
                ),
        )
        .await;
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/x")
                .insert_header(("Origin", "http://portal.example"))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..])
        );
        let pre = test::call_service(
            &app,
            test::TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/x")
                .insert_header(("Origin", "http://portal.example"))
                .insert_header(("Access-Control-Request-Method", "POST"))
                .insert_header(("Access-Control-Request-Headers", "content-type"))
                .to_request(),
        )
        .await;
        assert_eq!(pre.status().as_u16(), 200);
        let h = |n: &str| {
            pre.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        assert_eq!(h("access-control-allow-origin"), "*");
        assert!(
            h("access-control-allow-methods").contains("post"),
            "{:?}",
            pre.headers()
        );
        assert!(h("access-control-allow-headers").contains("content-type"));
    }
}
