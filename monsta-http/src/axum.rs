//! The endpoints as an axum `Router`, for
//! [`StatusReporter::router`](crate::StatusReporter::router).

use std::sync::Arc;

use crate::{StatusService, engine::Engine, respond::Route};

/// A router of `engine`'s endpoints, each to the service of its route.
pub(crate) fn router<S>(engine: &Arc<Engine>) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let config = engine.config();
    let router = axum::Router::new().route_service(
        config.endpoint(),
        StatusService::routed(Arc::clone(engine), Route::State),
    );
    #[cfg(feature = "prometheus")]
    let router = if config.metrics_endpoint() == config.endpoint() {
        router
    } else {
        router.route_service(
            config.metrics_endpoint(),
            StatusService::routed(Arc::clone(engine), Route::Metrics),
        )
    };
    // Answered by the path-based service, whose checks know the route.
    let router = if config.security().settings().open_health {
        router.route_service(
            crate::HEALTH_ENDPOINT,
            StatusService::new(Arc::clone(engine)),
        )
    } else {
        router
    };
    // The extensions' paths, answered by path as the standalone server
    // does; attaching an extension refused any path routed above.
    config.extensions().paths().fold(router, |router, path| {
        router.route_service(path, StatusService::new(Arc::clone(engine)))
    })
}
