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

    Types: counts and seconds bigint, rates double (null without a denominator).
-#}
{%- set window_start = dbt.dateadd('day', -var('engagement_window_days'), as_of_timestamp()) -%}
with

people as (

    select * from {{ ref('dim_customers') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

email_engagement as (

    select * from {{ ref('fct_email_engagement') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

web_events as (

    select * from {{ ref('stg_web__events') }}

),

person_sessions as (

    select
        *,
        started_at >= {{ window_start }} as in_window
    from sessions
    where person_id is not null

),

session_totals as (

    select
        person_id,
        cast(count(*) as bigint) as sessions,
        cast(sum(case when in_window then 1 else 0 end) as bigint) as sessions_90d,
        cast(sum(page_views) as bigint) as page_views,
        cast(sum(case when in_window then page_views else 0 end) as bigint) as page_views_90d,
        cast(sum(duration_seconds) as bigint) as time_on_site_seconds,
        cast(sum(case when in_window then duration_seconds else 0 end) as bigint)
            as time_on_site_seconds_90d,
        cast(sum(products_viewed) as bigint) as products_viewed,
        cast(sum(case when in_window then products_viewed else 0 end) as bigint)
            as products_viewed_90d,
        cast(sum(case when added_to_cart then 1 else 0 end) as bigint) as cart_sessions,
        cast(sum(case when added_to_cart and not order_completed then 1 else 0 end) as bigint)
            as abandoned_cart_sessions,
        cast(sum(case when in_window and added_to_cart then 1 else 0 end) as bigint)
            as cart_sessions_90d,
        cast(sum(
            case when in_window and added_to_cart and not order_completed then 1 else 0 end
        ) as bigint) as abandoned_cart_sessions_90d,
        max(started_at) as last_session_at
    from person_sessions
    group by person_id

),

email_totals as (

    select
        person_id,
        cast(sum(case when is_delivered then 1 else 0 end) as bigint) as emails_delivered,
        cast(sum(case when is_opened then 1 else 0 end) as bigint) as emails_opened,
        cast(sum(case when is_clicked then 1 else 0 end) as bigint) as emails_clicked,
        cast(sum(
            case when first_event_at >= {{ window_start }} and is_delivered then 1 else 0 end
        ) as bigint) as emails_delivered_90d,
        cast(sum(
            case when first_event_at >= {{ window_start }} and is_opened then 1 else 0 end
        ) as bigint) as emails_opened_90d,
        cast(sum(
            case when first_event_at >= {{ window_start }} and is_clicked then 1 else 0 end
        ) as bigint) as emails_clicked_90d,
        {{ dbt.bool_or('is_unsubscribed') }} as has_unsubscribed,
        max(last_event_at) as last_email_event_at
    from email_engagement
    group by person_id

),

completed_orders as (

    select *
    from orders
    where order_status = 'completed' and person_id is not null

),

channel_counts as (

    select
        person_id,
        channel,
        count(*) as orders,
        max(ordered_at) as last_ordered_at
    from completed_orders
    group by person_id, channel

),

preferred_channels as (

    select
        person_id,
        channel,
        row_number() over (
            partition by person_id order by orders desc, last_ordered_at desc, channel asc
        ) as preference_rank
    from channel_counts

),

device_counts as (

    select
        person_id,
        device_type,
        count(*) as sessions,
        max(started_at) as last_started_at
    from person_sessions
    where device_type is not null
    group by person_id, device_type

),

preferred_devices as (

    select
        person_id,
        device_type,
        row_number() over (
            partition by person_id order by sessions desc, last_started_at desc, device_type asc
        ) as preference_rank
    from device_counts

),

device_people as (

    select distinct
        anonymous_id,
        person_id
    from person_sessions

),

category_views as (

    -- Product views of the devices that have sessions (bots never do), before the date.
    select
        device_people.person_id,
        coalesce(web_events.category, products.category) as category,
        1 as weight
    from web_events
    inner join device_people
        on web_events.anonymous_id = device_people.anonymous_id
    left join products
        on web_events.product_id = products.product_id
    where
        web_events.event_name = 'Product Viewed'
        and not web_events.is_bot
        and web_events.occurred_at < {{ as_of_timestamp() }}

),

category_purchases as (

    select
        completed_orders.person_id,
        products.category,
        {{ var('category_purchase_weight') }} * order_items.quantity as weight
    from completed_orders
    inner join order_items
        on completed_orders.order_id = order_items.order_id
    inner join products
        on order_items.product_id = products.product_id

),

category_scores as (

    select
        person_id,
        category,
        cast(sum(weight) as bigint) as affinity
    from (
        select * from category_views
        union all
        select * from category_purchases
    ) as interactions
    where category is not null
    group by person_id, category

),

top_categories as (

    select
        person_id,
        category,
        affinity,
        row_number() over (
            partition by person_id order by affinity desc, category asc
        ) as preference_rank
    from category_scores

),

activity as (

    select
        person_id,
        started_at as active_at
    from person_sessions
    union all
    select
        person_id,
        ordered_at as active_at
    from completed_orders

),

hour_buckets as (

    select
        person_id,
        case
            when active_at is null then null
            when extract(hour from active_at) < 6 then 'night'
            when extract(hour from active_at) < 12 then 'morning'
            when extract(hour from active_at) < 18 then 'afternoon'
            else 'evening'
        end as hour_bucket,
        active_at
    from activity

),

bucket_counts as (

    select
        person_id,
        hour_bucket,
        count(*) as activities,
        max(active_at) as last_active_at
    from hour_buckets
    where hour_bucket is not null
    group by person_id, hour_bucket

),

preferred_buckets as (

    select
        person_id,
        hour_bucket,
        row_number() over (
            partition by person_id
            order by activities desc, last_active_at desc, hour_bucket asc
        ) as preference_rank
    from bucket_counts

),

final as (

    select
        people.person_id,
        {{ as_of_date() }} as as_of_date,
        coalesce(session_totals.sessions, 0) as sessions,
        coalesce(session_totals.sessions_90d, 0) as sessions_90d,
        coalesce(session_totals.page_views, 0) as page_views,
        coalesce(session_totals.page_views_90d, 0) as page_views_90d,
        coalesce(session_totals.time_on_site_seconds, 0) as time_on_site_seconds,
        coalesce(session_totals.time_on_site_seconds_90d, 0) as time_on_site_seconds_90d,
        coalesce(session_totals.products_viewed, 0) as products_viewed,
        coalesce(session_totals.products_viewed_90d, 0) as products_viewed_90d,
        coalesce(session_totals.cart_sessions, 0) as cart_sessions,
        coalesce(session_totals.abandoned_cart_sessions, 0) as abandoned_cart_sessions,
        {{ safe_ratio('session_totals.abandoned_cart_sessions', 'session_totals.cart_sessions') }}
            as cart_abandonment_rate,
        {{ safe_ratio(
            'session_totals.abandoned_cart_sessions_90d', 'session_totals.cart_sessions_90d'
        ) }} as cart_abandonment_rate_90d,
        session_totals.last_session_at,
        coalesce(email_totals.emails_delivered, 0) as emails_delivered,
        coalesce(email_totals.emails_opened, 0) as emails_opened,
        coalesce(email_totals.emails_clicked, 0) as emails_clicked,
        {{ safe_ratio('email_totals.emails_opened', 'email_totals.emails_delivered') }}
            as email_open_rate,
        {{ safe_ratio('email_totals.emails_clicked', 'email_totals.emails_delivered') }}
            as email_click_rate,
        coalesce(email_totals.emails_delivered_90d, 0) as emails_delivered_90d,
        {{ safe_ratio('email_totals.emails_opened_90d', 'email_totals.emails_delivered_90d') }}
            as email_open_rate_90d,
        {{ safe_ratio('email_totals.emails_clicked_90d', 'email_totals.emails_delivered_90d') }}
            as email_click_rate_90d,
        coalesce(email_totals.has_unsubscribed, false) as has_unsubscribed,
        email_totals.last_email_event_at,
        preferred_channels.channel as preferred_channel,
        preferred_devices.device_type as preferred_device,
        top_categories.category as top_category,
        top_categories.affinity as top_category_affinity,
        preferred_buckets.hour_bucket as preferred_hour_bucket
    from people
    left join session_totals
        on people.person_id = session_totals.person_id
    left join email_totals
        on people.person_id = email_totals.person_id
    left join preferred_channels
        on
            people.person_id = preferred_channels.person_id
            and preferred_channels.preference_rank = 1
    left join preferred_devices
        on
            people.person_id = preferred_devices.person_id
            and preferred_devices.preference_rank = 1
    left join top_categories
        on
            people.person_id = top_categories.person_id
            and top_categories.preference_rank = 1
    left join preferred_buckets
        on
            people.person_id = preferred_buckets.person_id
            and preferred_buckets.preference_rank = 1

)

select * from final
