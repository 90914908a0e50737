{#-
    The ML feature table (the only table the ML reads): one row per person known before the
    date and snapshot date (int_features__as_of_dates: the run's as-of date T and T minus
    each of `feature_snapshot_offsets_days`, 30 and 365), `person_id`, `as_of_date`, then
    one column per feature. The ML trains on an earlier date's features with labels from
    after it (propensity: features as of T-30, bought in (T-30, T]; value: as of T-365,
    spend in (T-365, T]) and scores with T's (`where as_of_date = T`), all from one build.

    Point-in-time correct for every date: each feature counts facts strictly before
    midnight UTC of the row's date only (the int_features models and the orders here join
    each fact to the dates after it), windows end at the row's date, and only people first
    seen before it have a row; so a row equals what a build as of its date would give
    (tests/dbt/test_marts.py checks it), and labels taken after the date cannot leak in.

    Numeric features are null only where a value does not exist (recency of a non-buyer, a
    rate without a denominator); categorical ones are null when unknown. Flags are 0/1
    integers, counts bigint, days integer, money and rates double (the ML's floats).
    Identity resolution itself uses every identifier it has seen; of what it links, only
    identifiers first seen before the date count here (`devices`, `is_crm_customer`).
-#}
with

as_of_dates as (

    select * from {{ ref('int_features__as_of_dates') }}

),

people as (

    select * from {{ ref('dim_customers') }}

),

rfm as (

    select * from {{ ref('int_features__rfm') }}

),

engagement as (

    select * from {{ ref('int_features__engagement') }}

),

lifecycle as (

    select * from {{ ref('int_features__lifecycle') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

identifiers as (

    select * from {{ ref('person_identifiers') }}

),

known_people as (

    -- Each person once for every date they were first seen before.
    select
        people.person_id,
        people.country_code,
        as_of_dates.as_of_date,
        cast(people.first_seen_at as date) as first_seen_date,
        {{ dbt.datediff('people.birth_date', 'as_of_dates.as_of_date', 'day') }}
            as age_days
    from people
    inner join as_of_dates
        on people.first_seen_at < as_of_dates.as_of_at

),

known_identifiers as (

    select
        identifiers.person_id,
        as_of_dates.as_of_date,
        cast(sum(
            case when identifiers.identifier_type = 'anonymous_id' then 1 else 0 end
        ) as bigint) as devices,
        cast(sum(
            case when identifiers.identifier_type = 'crm_id' then 1 else 0 end
        ) as bigint) as crm_ids
    from identifiers
    inner join as_of_dates
        on identifiers.first_seen_at < as_of_dates.as_of_at
    where identifiers.identifier_type in ('anonymous_id', 'crm_id')
    group by identifiers.person_id, as_of_dates.as_of_date

),

dated_orders as (

    -- Every order with a person, once for each date after it.
    select
        orders.person_id,
        orders.order_status,
        orders.channel,
        orders.amount,
        orders.discount,
        orders.items,
        as_of_dates.as_of_date,
        orders.ordered_at >= as_of_dates.window_start_at as in_window,
        extract(month from orders.ordered_at) >= 11 as in_holidays
    from orders
    inner join as_of_dates
        on orders.ordered_at < as_of_dates.as_of_at
    where orders.person_id is not null

),

order_mix as (

    select
        person_id,
        as_of_date,
        sum(case when order_status = 'completed' and in_window then 1 else 0 end) as orders_90d,
        sum(case when in_window then amount else 0 end) as monetary_90d,
        sum(case when order_status = 'refunded' then 1 else 0 end) as refunded_orders,
        sum(case when order_status = 'cancelled' then 1 else 0 end) as cancelled_orders,
        count(*) as placed_orders,
        sum(case when order_status = 'completed' and discount > 0 then 1 else 0 end)
            as discounted_orders,
        sum(case when order_status = 'completed' then 1 else 0 end) as completed_orders,
        sum(case when order_status = 'completed' and channel = 'store' then 1 else 0 end)
            as store_orders,
        sum(case when order_status = 'completed' and channel = 'app' then 1 else 0 end)
            as app_orders,
        sum(case when order_status = 'completed' then items else 0 end) as items_bought,
        sum(
            case
                when order_status = 'completed' and in_holidays then 1
                else 0
            end
        ) as holiday_orders
    from dated_orders
    group by person_id, as_of_date

),

final as (

    select
        known_people.person_id,
        known_people.as_of_date,

        -- RFM
        case when rfm.frequency > 0 then 1 else 0 end as is_buyer,
        rfm.recency_days,
        rfm.frequency,
        cast(rfm.monetary as double precision) as monetary,
        cast(rfm.avg_order_value as double precision) as avg_order_value,
        rfm.tenure_days,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_segment,

        -- orders
        cast(coalesce(order_mix.orders_90d, 0) as bigint) as orders_90d,
        cast(coalesce(order_mix.monetary_90d, 0) as double precision) as monetary_90d,
        cast(coalesce(order_mix.items_bought, 0) as bigint) as items_bought,
        {{ safe_ratio('order_mix.refunded_orders', 'order_mix.placed_orders') }} as refund_rate,
        {{ safe_ratio('order_mix.cancelled_orders', 'order_mix.placed_orders') }}
            as cancel_rate,
        {{ safe_ratio('order_mix.discounted_orders', 'order_mix.completed_orders') }}
            as discounted_order_share,
        {{ safe_ratio('order_mix.store_orders', 'order_mix.completed_orders') }}
            as store_order_share,
        {{ safe_ratio('order_mix.app_orders', 'order_mix.completed_orders') }} as app_order_share,
        {{ safe_ratio('order_mix.holiday_orders', 'order_mix.completed_orders') }}
            as holiday_order_share,

        -- web and email engagement
        engagement.sessions,
        engagement.sessions_90d,
        engagement.page_views_90d,
        engagement.time_on_site_seconds_90d,
        {{ safe_ratio('engagement.time_on_site_seconds', 'engagement.sessions') }}
            as avg_session_seconds,
        engagement.products_viewed_90d,
        engagement.cart_abandonment_rate,
        cast(
            {{ dbt.datediff(
                'cast(engagement.last_session_at as date)', 'known_people.as_of_date', 'day'
            ) }}
            as integer
        ) as days_since_last_session,
        engagement.emails_delivered,
        engagement.email_open_rate,
        engagement.email_click_rate,
        engagement.email_open_rate_90d,
        engagement.email_click_rate_90d,
        case when engagement.has_unsubscribed then 1 else 0 end as has_unsubscribed,
        engagement.preferred_channel,
        engagement.preferred_device,
        engagement.top_category,
        engagement.preferred_hour_bucket,

        -- lifecycle and profile
        lifecycle.lifecycle_stage,
        cast(
            {{ dbt.datediff('known_people.first_seen_date', 'known_people.as_of_date', 'day') }}
            as integer
        ) as days_since_first_seen,
        cast(floor(known_people.age_days / 365.25) as integer) as age_years,
        known_people.country_code,
        coalesce(known_identifiers.devices, 0) as devices,
        case when known_identifiers.crm_ids > 0 then 1 else 0 end as is_crm_customer
    from known_people
    inner join rfm
        on
            known_people.person_id = rfm.person_id
            and known_people.as_of_date = rfm.as_of_date
    inner join engagement
        on
            known_people.person_id = engagement.person_id
            and known_people.as_of_date = engagement.as_of_date
    inner join lifecycle
        on
            known_people.person_id = lifecycle.person_id
            and known_people.as_of_date = lifecycle.as_of_date
    left join order_mix
        on
            known_people.person_id = order_mix.person_id
            and known_people.as_of_date = order_mix.as_of_date
    left join known_identifiers
        on
            known_people.person_id = known_identifiers.person_id
            and known_people.as_of_date = known_identifiers.as_of_date

)

select * from final
