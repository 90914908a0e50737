{#-
    How each person engages, per snapshot date (int_features__as_of_dates): one row per
    person of dim_customers and date; customer_engagement is the run's date's rows, where
    the rules are documented. All-time figures and the same over the last
    `engagement_window_days` (90) before the row's date (`_90d` columns). Each date counts
    only what happened before its midnight UTC, as a build as of that date would: a session
    running at midnight counts as its part before it (its events read again from staging,
    so an order completed after midnight never shows before it); a campaign counts as of
    its first delivery, open, click and unsubscribe times, its latest event before the
    date read again from staging when it has events on both sides.

    Cost: facts join the (few) dates after them once; product views, the largest input,
    are first summed per person, category and day, so the clickstream is never multiplied,
    and those daily sums are added up for every date in one pass (a column per date).
    Types: counts and seconds bigint, rates double (null without a denominator).
-#}
with

as_of_dates as (

    select * from {{ ref('int_features__as_of_dates') }}

),

people as (

    select * from {{ ref('dim_customers') }}

),

-- Sessions, orders and events each feed two parts of this query: not materialized, so each
-- reader scans the table for its own columns. DuckDB would otherwise copy them into
-- temporary results first, which spilled at 1M customers (this model as a query: 75 s
-- against 44 s).
sessions as not materialized (

    select * from {{ ref('fct_sessions') }}

),

email_engagement as (

    select * from {{ ref('fct_email_engagement') }}

),

orders as not materialized (

    select * from {{ ref('fct_orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

web_events as not materialized (

    select * from {{ ref('stg_web__events') }}

),

email_events as (

    select * from {{ ref('stg_email__events') }}

),

identifiers as (

    select * from {{ ref('person_identifiers') }}

),

-- The rows multiplied by the snapshot dates (dated_sessions, person_sessions, dated_orders)
-- feed several parts each; copied into temporary results they cost more than computing them
-- again for each reader (this model as a query at 1M customers: 56 s materialized, 32-36 s
-- not).
dated_sessions as not materialized (

    -- Every session started before the date, once per such date.
    select
        sessions.session_id,
        sessions.person_id,
        sessions.anonymous_id,
        sessions.started_at,
        sessions.ended_at,
        sessions.duration_seconds,
        sessions.page_views,
        sessions.products_viewed,
        sessions.added_to_cart,
        sessions.order_completed,
        sessions.device_type,
        as_of_dates.as_of_date,
        as_of_dates.as_of_at,
        as_of_dates.window_start_at
    from sessions
    inner join as_of_dates
        on sessions.started_at < as_of_dates.as_of_at
    where sessions.person_id is not null

),

running_sessions as (

    -- Sessions still running at the date's midnight (never at the run's date).
    select
        session_id,
        anonymous_id,
        started_at,
        as_of_date,
        as_of_at
    from dated_sessions
    where ended_at >= as_of_at

),

running_session_events as (

    -- Their events before midnight: the device's, from the session's start on (a session
    -- running at midnight has no gap of its own before it).
    select
        running_sessions.session_id,
        running_sessions.as_of_date,
        web_events.event_type,
        web_events.event_name,
        web_events.product_id,
        web_events.occurred_at
    from web_events
    inner join running_sessions
        on
            web_events.anonymous_id = running_sessions.anonymous_id
            and web_events.occurred_at >= running_sessions.started_at
            and web_events.occurred_at < running_sessions.as_of_at
    where not web_events.is_bot

),

cut_sessions as (

    -- The part before midnight, as fct_sessions counts a session.
    select
        session_id,
        as_of_date,
        max(occurred_at) as ended_at,
        sum(case when event_type = 'page' then 1 else 0 end) as page_views,
        count(distinct case when event_name = 'Product Viewed' then product_id end)
            as products_viewed,
        {{ dbt.bool_or("coalesce(event_name, '') = 'Added to Cart'") }} as added_to_cart,
        {{ dbt.bool_or("coalesce(event_name, '') = 'Order Completed'") }} as order_completed
    from running_session_events
    group by session_id, as_of_date

),

person_sessions as not materialized (

    select
        dated_sessions.person_id,
        dated_sessions.anonymous_id,
        dated_sessions.as_of_date,
        dated_sessions.started_at,
        dated_sessions.device_type,
        dated_sessions.started_at >= dated_sessions.window_start_at as in_window,
        case
            when cut_sessions.session_id is null then dated_sessions.duration_seconds
            else cast(
                {{ dbt.datediff('dated_sessions.started_at', 'cut_sessions.ended_at', 'second') }}
                as bigint
            )
        end as duration_seconds,
        coalesce(cut_sessions.page_views, dated_sessions.page_views) as page_views,
        coalesce(cut_sessions.products_viewed, dated_sessions.products_viewed)
            as products_viewed,
        coalesce(cut_sessions.added_to_cart, dated_sessions.added_to_cart) as added_to_cart,
        coalesce(cut_sessions.order_completed, dated_sessions.order_completed)
            as order_completed
    from dated_sessions
    left join cut_sessions
        on
            dated_sessions.session_id = cut_sessions.session_id
            and dated_sessions.as_of_date = cut_sessions.as_of_date

),

session_totals as (

    select
        person_id,
        as_of_date,
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
    group by person_id, as_of_date

),

dated_emails as (

    -- Each person's campaigns with an event before the date, as of that date.
    select
        email_engagement.person_id,
        email_engagement.campaign_id,
        as_of_dates.as_of_date,
        as_of_dates.as_of_at,
        coalesce(
            email_engagement.first_delivered_at < as_of_dates.as_of_at
            or email_engagement.first_opened_at < as_of_dates.as_of_at
            or email_engagement.first_clicked_at < as_of_dates.as_of_at,
            false
        ) as is_delivered,
        coalesce(email_engagement.first_opened_at < as_of_dates.as_of_at, false)
            as is_opened,
        coalesce(email_engagement.first_clicked_at < as_of_dates.as_of_at, false)
            as is_clicked,
        coalesce(email_engagement.first_unsubscribed_at < as_of_dates.as_of_at, false)
            as is_unsubscribed,
        email_engagement.first_event_at >= as_of_dates.window_start_at as in_window,
        email_engagement.last_event_at
    from email_engagement
    inner join as_of_dates
        on email_engagement.first_event_at < as_of_dates.as_of_at

),

email_people as (

    select
        identifier_value as email,
        person_id
    from identifiers
    where identifier_type = 'email'

),

running_campaigns as (

    -- Campaigns with events on both sides of the date's midnight: their latest event
    -- before it is read again from staging (never at the run's date).
    select
        dated_emails.person_id,
        dated_emails.campaign_id,
        dated_emails.as_of_date,
        max(email_events.occurred_at) as last_event_at
    from dated_emails
    inner join email_people
        on dated_emails.person_id = email_people.person_id
    inner join email_events
        on
            email_people.email = email_events.email
            and dated_emails.campaign_id = email_events.campaign_id
            and dated_emails.as_of_at > email_events.occurred_at
    where dated_emails.last_event_at >= dated_emails.as_of_at
    group by dated_emails.person_id, dated_emails.campaign_id, dated_emails.as_of_date

),

email_totals as (

    select
        dated_emails.person_id,
        dated_emails.as_of_date,
        cast(sum(case when dated_emails.is_delivered then 1 else 0 end) as bigint)
            as emails_delivered,
        cast(sum(case when dated_emails.is_opened then 1 else 0 end) as bigint)
            as emails_opened,
        cast(sum(case when dated_emails.is_clicked then 1 else 0 end) as bigint)
            as emails_clicked,
        cast(sum(
            case when dated_emails.in_window and dated_emails.is_delivered then 1 else 0 end
        ) as bigint) as emails_delivered_90d,
        cast(sum(
            case when dated_emails.in_window and dated_emails.is_opened then 1 else 0 end
        ) as bigint) as emails_opened_90d,
        cast(sum(
            case when dated_emails.in_window and dated_emails.is_clicked then 1 else 0 end
        ) as bigint) as emails_clicked_90d,
        {{ dbt.bool_or('dated_emails.is_unsubscribed') }} as has_unsubscribed,
        max(
            case
                when dated_emails.last_event_at < dated_emails.as_of_at
                    then dated_emails.last_event_at
                else running_campaigns.last_event_at
            end
        ) as last_email_event_at
    from dated_emails
    left join running_campaigns
        on
            dated_emails.person_id = running_campaigns.person_id
            and dated_emails.campaign_id = running_campaigns.campaign_id
            and dated_emails.as_of_date = running_campaigns.as_of_date
    group by dated_emails.person_id, dated_emails.as_of_date

),

completed_orders as (

    select *
    from orders
    where order_status = 'completed' and person_id is not null

),

dated_orders as not materialized (

    select
        completed_orders.person_id,
        completed_orders.channel,
        completed_orders.ordered_at,
        as_of_dates.as_of_date
    from completed_orders
    inner join as_of_dates
        on completed_orders.ordered_at < as_of_dates.as_of_at

),

channel_counts as (

    select
        person_id,
        as_of_date,
        channel,
        count(*) as orders,
        max(ordered_at) as last_ordered_at
    from dated_orders
    group by person_id, as_of_date, channel

),

preferred_channels as (

    select
        person_id,
        as_of_date,
        channel,
        row_number() over (
            partition by person_id, as_of_date
            order by orders desc, last_ordered_at desc, channel asc
        ) as preference_rank
    from channel_counts

),

device_counts as (

    select
        person_id,
        as_of_date,
        device_type,
        count(*) as sessions,
        max(started_at) as last_started_at
    from person_sessions
    where device_type is not null
    group by person_id, as_of_date, device_type

),

preferred_devices as (

    select
        person_id,
        as_of_date,
        device_type,
        row_number() over (
            partition by person_id, as_of_date
            order by sessions desc, last_started_at desc, device_type asc
        ) as preference_rank
    from device_counts

),

device_people as (

    -- Devices with a session (bots never have one) and their person.
    select distinct
        anonymous_id,
        person_id
    from sessions
    where person_id is not null

),

daily_views as (

    -- Product views before the run's date, summed per person, category and day.
    select
        device_people.person_id,
        coalesce(web_events.category, products.category) as category,
        cast(web_events.occurred_at as date) as interacted_on,
        count(*) as weight
    from web_events
    inner join device_people
        on web_events.anonymous_id = device_people.anonymous_id
    left join products
        on web_events.product_id = products.product_id
    where
        web_events.event_name = 'Product Viewed'
        and not web_events.is_bot
        and web_events.occurred_at < {{ as_of_timestamp() }}
    group by
        device_people.person_id,
        coalesce(web_events.category, products.category),
        cast(web_events.occurred_at as date)

),

daily_purchases as (

    select
        completed_orders.person_id,
        products.category,
        cast(completed_orders.ordered_at as date) as interacted_on,
        sum({{ var('category_purchase_weight') }} * order_items.quantity) as weight
    from completed_orders
    inner join order_items
        on completed_orders.order_id = order_items.order_id
    inner join products
        on order_items.product_id = products.product_id
    group by
        completed_orders.person_id,
        products.category,
        cast(completed_orders.ordered_at as date)

),

snapshot_dates as (

    -- The snapshot dates as one row, a column per offset, for the one-pass sums below.
    select
        {%- for offset in feature_snapshot_offsets() %}
        max(case when offset_days = {{ offset }} then as_of_date end) as as_of_date_{{ offset }},
        {%- endfor %}
        count(*) as dates
    from as_of_dates

),

category_totals as (

    -- A day's interactions count for the dates after it: one pass sums them for every
    -- date at once (a column per date) instead of joining each day to the dates after it.
    select
        interactions.person_id,
        interactions.category,
        {%- for offset in feature_snapshot_offsets() %}
        {%- set before = 'interactions.interacted_on < snapshot_dates.as_of_date_' ~ offset %}
        count(case when {{ before }} then 1 end) as interactions_{{ offset }},
        sum(case when {{ before }} then interactions.weight end) as affinity_{{ offset }},
        {%- endfor %}
        count(*) as interaction_days
    from (
        select * from daily_views
        union all
        select * from daily_purchases
    ) as interactions
    cross join snapshot_dates
    where interactions.category is not null
    group by interactions.person_id, interactions.category

),

category_scores as (

    -- Back to one row per person, date and category with an interaction before the date.
    {%- for offset in feature_snapshot_offsets() %}
    select
        category_totals.person_id,
        as_of_dates.as_of_date,
        category_totals.category,
        cast(category_totals.affinity_{{ offset }} as bigint) as affinity
    from category_totals
    inner join as_of_dates
        on as_of_dates.offset_days = {{ offset }}
    where category_totals.interactions_{{ offset }} > 0
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

top_categories as (

    select
        person_id,
        as_of_date,
        category,
        affinity,
        row_number() over (
            partition by person_id, as_of_date order by affinity desc, category asc
        ) as preference_rank
    from category_scores

),

activity as (

    select
        person_id,
        as_of_date,
        started_at as active_at
    from person_sessions
    union all
    select
        person_id,
        as_of_date,
        ordered_at as active_at
    from dated_orders

),

hour_buckets as (

    select
        person_id,
        as_of_date,
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
        as_of_date,
        hour_bucket,
        count(*) as activities,
        max(active_at) as last_active_at
    from hour_buckets
    where hour_bucket is not null
    group by person_id, as_of_date, hour_bucket

),

preferred_buckets as (

    select
        person_id,
        as_of_date,
        hour_bucket,
        row_number() over (
            partition by person_id, as_of_date
            order by activities desc, last_active_at desc, hour_bucket asc
        ) as preference_rank
    from bucket_counts

),

final as (

    select
        people.person_id,
        as_of_dates.as_of_date,
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
    cross join as_of_dates
    left join session_totals
        on
            people.person_id = session_totals.person_id
            and as_of_dates.as_of_date = session_totals.as_of_date
    left join email_totals
        on
            people.person_id = email_totals.person_id
            and as_of_dates.as_of_date = email_totals.as_of_date
    left join preferred_channels
        on
            people.person_id = preferred_channels.person_id
            and as_of_dates.as_of_date = preferred_channels.as_of_date
            and preferred_channels.preference_rank = 1
    left join preferred_devices
        on
            people.person_id = preferred_devices.person_id
            and as_of_dates.as_of_date = preferred_devices.as_of_date
            and preferred_devices.preference_rank = 1
    left join top_categories
        on
            people.person_id = top_categories.person_id
            and as_of_dates.as_of_date = top_categories.as_of_date
            and top_categories.preference_rank = 1
    left join preferred_buckets
        on
            people.person_id = preferred_buckets.person_id
            and as_of_dates.as_of_date = preferred_buckets.as_of_date
            and preferred_buckets.preference_rank = 1

)

select * from final
