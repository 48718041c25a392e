//! goose load journeys for the reference app.
