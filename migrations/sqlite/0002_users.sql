-- Local user profiles: who is acting, recorded in every audit line. The role decides what a user
-- may do (finance managers record the exemption commission's outcomes).
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL DEFAULT 'accountant' CHECK (role IN ('accountant', 'finance_manager')),
    created_at TEXT NOT NULL
);

-- The desktop's own preferences (the last signed-in user).
CREATE TABLE app_prefs (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
