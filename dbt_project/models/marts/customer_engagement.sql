{#-
    How each person engages, as of the run's date: one row per person of dim_customers.
    All-time figures, and the same over the last `engagement_window_days` (90) before the
    as-of date (`_90d` columns whatever the var says; the window is in the docs).

    - Web: sessions, page views, time on site (sum of session durations), products viewed,
      cart abandonment (sessions with an add-to-cart and no completed order / sessions with
      an add-to-cart; null without any cart).
    - Email: open and click rates per delivered campaign (null when nothing was delivered).
    - Preferences: channel (web, app or store, by completed orders), device (by sessions),
      top category (product views + `category_purchase_weight` × units bought online), and
      the hour-of-day bucket (UTC) of sessions and orders: night 0–5, morning 6–11,
      afternoon 12–17, evening 18–23. Ties go to the latest, then alphabetically.

    The rules live in int_features__engagement, which applies them to every feature
    snapshot date (the ML's training cutoffs); this mart is its rows for the run's date.

    Types: counts and seconds bigint, rates double (null without a denominator).
-#}
with

engagement as (

    select * from {{ ref('int_features__engagement') }}

),

final as (

    select
        person_id,
        as_of_date,
        sessions,
        sessions_90d,
        page_views,
        page_views_90d,
        time_on_site_seconds,
        time_on_site_seconds_90d,
        products_viewed,
        products_viewed_90d,
        cart_sessions,
        abandoned_cart_sessions,
        cart_abandonment_rate,
        cart_abandonment_rate_90d,
        last_session_at,
        emails_delivered,
        emails_opened,
        emails_clicked,
        email_open_rate,
        email_click_rate,
        emails_delivered_90d,
        email_open_rate_90d,
        email_click_rate_90d,
        has_unsubscribed,
        last_email_event_at,
        preferred_channel,
        preferred_device,
        top_category,
        top_category_affinity,
        preferred_hour_bucket
    from engagement
    where as_of_date = {{ as_of_date() }}

)

select * from final
