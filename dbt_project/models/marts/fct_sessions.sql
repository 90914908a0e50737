{#-
    Web and app sessions before the as-of date, one row per session, bots left out.

    A session is a device's (anonymous id's) run of events with no gap longer than
    `session_timeout_minutes` (30): `lag` finds each event's gap to the one before, a
    running sum of "gap too long" numbers the sessions. The person is the device's person
    (its anonymous id in person_identifiers, else its logged-in user id's).

    Incremental, because the clickstream is the largest table. The unit of recomputation is
    the device: a run recomputes every session of each device whose events changed since
    the last run (its event count, first or last event time differ from the stored
    sessions': new events, late events, a later as-of date) or whose person changed
    (identity merges), and replaces them (`delete+insert` on anonymous_id), so a late event
    that bridges two sessions merges them exactly as a full refresh would. The pre-hook
    removes sessions at or after the as-of date, for a run with an earlier date than the
    last; the devices it touched no longer match their fingerprint and are recomputed.
    Change `session_timeout_minutes` or the bot rules only with `--full-refresh`.
    `session_id` is md5 of anonymous id, '|', first event's message id (same as dbt.hash of
    their concatenation: neither is ever null). Counts are bigint.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='anonymous_id',
        on_schema_change='fail',
        pre_hook=[
            "{% if is_incremental() %}delete from {{ this }}"
            ~ " where ended_at >= {{ as_of_timestamp() }}{% endif %}"
        ]
    )
}}

{%- set session_timeout = var('session_timeout_minutes') %}

with

-- `events` is read twice (devices, then their events): it and this import are not
-- materialized, so each reader scans the table. DuckDB would otherwise copy the clickstream
-- into a temporary result first (at 1M customers this model as a query, with the windows
-- below: 68 s against 44 s).
web_events as not materialized (

    select * from {{ ref('stg_web__events') }}

),

identifiers as (

    select * from {{ ref('person_identifiers') }}

),

-- What the sessions count, as flags: the windows below sort every column they carry, and
-- flags sort cheaper than the event's type, name and product (1M customers, this model as a
-- query back to back: 54-60 s against 34-40 s with 4 GB, 60 s against 47 s with 2 GB).
events as not materialized (

    select
        message_id,
        anonymous_id,
        user_id,
        event_type = 'page' as is_page_view,
        case when event_name = 'Product Viewed' then product_id end as viewed_product_id,
        coalesce(event_name = 'Added to Cart', false) as is_cart_addition,
        coalesce(event_name = 'Checkout Started', false) as is_checkout_start,
        coalesce(event_name = 'Order Completed', false) as is_order_completion,
        device_type,
        utm_source,
        occurred_at
    from web_events
    where
        not is_bot
        and anonymous_id is not null
        and occurred_at < {{ as_of_timestamp() }}

),

devices as (

    select
        anonymous_id,
        max(user_id) as user_id,
        count(*) as events,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    group by anonymous_id

),

device_people as (

    select
        devices.anonymous_id,
        devices.events,
        devices.first_event_at,
        devices.last_event_at,
        coalesce(device_ids.person_id, user_ids.person_id) as person_id
    from devices
    left join identifiers as device_ids
        on
            device_ids.identifier_type = 'anonymous_id'
            and devices.anonymous_id = device_ids.identifier_value
    left join identifiers as user_ids
        on
            user_ids.identifier_type = 'user_id'
            and devices.user_id = user_ids.identifier_value

),

{% if is_incremental() %}

stored_devices as (

    select
        anonymous_id,
        sum(events) as events,
        min(started_at) as first_event_at,
        max(ended_at) as last_event_at,
        max(person_id) as person_id
    from {{ this }}
    group by anonymous_id

),

changed_devices as (

    select device_people.*
    from device_people
    left join stored_devices
        on device_people.anonymous_id = stored_devices.anonymous_id
    where
        stored_devices.anonymous_id is null
        or device_people.events != stored_devices.events
        or device_people.first_event_at != stored_devices.first_event_at
        or device_people.last_event_at != stored_devices.last_event_at
        or device_people.person_id is distinct from stored_devices.person_id

),

{% else %}

changed_devices as (

    select * from device_people

),

{% endif %}

scoped_events as (

    select events.*
    from events
    {%- if is_incremental() %}
    inner join changed_devices
        on events.anonymous_id = changed_devices.anonymous_id
    {%- endif %}

),

gaps as (

    select
        *,
        -- Events at the same instant: whichever comes first gets the gap, the others 0.
        lag(occurred_at) over (
            partition by anonymous_id order by occurred_at
        ) as previous_occurred_at
    from scoped_events

),

flagged as (

    select
        *,
        case
            when previous_occurred_at is null then 1
            when
                occurred_at
                > {{ dbt.dateadd('minute', session_timeout, 'previous_occurred_at') }}
                then 1
            else 0
        end as starts_session
    from gaps

),

numbered as (

    select
        *,
        -- A range frame counts every event of the same instant, so they share a session
        -- whatever order they were in. Sorting on the time alone, not on (time, message id),
        -- made each of the two windows ~25% cheaper at 100k customers.
        sum(starts_session) over (
            partition by anonymous_id
            order by occurred_at
            range between unbounded preceding and current row
        ) as session_number
    from flagged

),

sessions as (

    select
        anonymous_id,
        session_number,
        {{ first_by('message_id', 'occurred_at, message_id') }} as first_message_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events,
        sum(case when is_page_view then 1 else 0 end) as page_views,
        {{ distinct_count('viewed_product_id') }} as products_viewed,
        {{ dbt.bool_or('is_cart_addition') }} as added_to_cart,
        {{ dbt.bool_or('is_checkout_start') }} as checkout_started,
        {{ dbt.bool_or('is_order_completion') }} as order_completed,
        max(user_id) as user_id,
        {{ first_by('device_type', 'occurred_at, message_id') }} as device_type,
        {{ first_by('utm_source', 'occurred_at, message_id') }} as utm_source
    from numbered
    group by anonymous_id, session_number

),

final as (

    select
        {{ hash_key(['sessions.anonymous_id', 'sessions.first_message_id']) }} as session_id,
        changed_devices.person_id,
        sessions.anonymous_id,
        sessions.user_id,
        sessions.started_at,
        sessions.ended_at,
        cast(
            {{ dbt.datediff('sessions.started_at', 'sessions.ended_at', 'second') }}
            as bigint
        ) as duration_seconds,
        cast(sessions.page_views as bigint) as page_views,
        cast(sessions.events as bigint) as events,
        cast(sessions.products_viewed as bigint) as products_viewed,
        sessions.added_to_cart,
        sessions.checkout_started,
        sessions.order_completed,
        sessions.device_type,
        sessions.utm_source
    -- The person per device, once the events are sessions (every session's device is one
    -- of changed_devices).
    from sessions
    inner join changed_devices
        on sessions.anonymous_id = changed_devices.anonymous_id

)

select * from final
