{#-
    Web and app clickstream (Segment-like), one row per message id.

    - Retried sends carry the same message id: the copy received first is kept.
    - Device clocks can be wrong by hours: `occurred_at` corrects the client timestamp by the
      device clock's offset, as Segment does (received_at - (sent_at - timestamp)), unless the
      event reached the server more than a day after it was sent: then it waited in a queue
      and the device's own timestamp is kept.
    - Crawlers, bots and scripts are flagged (`is_bot`), not removed.
-#}

{%- set property_paths = [
    'product_id', 'category', 'price', 'quantity', 'order_id', 'revenue', 'value',
    'currency', 'path', 'url'
] -%}
{%- set context_paths = [
    'userAgent', 'device.type', 'campaign.source', 'campaign.medium', 'campaign.name',
    'campaign.term', 'campaign.content', 'page.path', 'page.url'
] -%}
{%- set late_after_ms = 24 * 60 * 60 * 1000 -%}
{%- set skewed_beyond_ms = 60 * 1000 -%}
with

-- Read three times, to find repeated message ids, to rank their copies and to parse the
-- kept rows: not materialized, so each reader scans the table for its own columns. DuckDB
-- would otherwise copy the whole raw table into a temporary result first, which spilled to
-- disk at 1M customers (this model as a query: 116 s against 64 s).
source as not materialized (

    select * from {{ source('raw', 'web__events') }}

),

repeated_messages as (

    -- Retried sends: the only message ids with more than one copy.
    select {{ clean_text('message_id') }} as message_id
    from source
    where {{ clean_text('message_id') }} is not null
    group by {{ clean_text('message_id') }}
    having count(*) > 1

),

later_deliveries as (

    -- A retried send repeats the message id: the copy the server received first is kept,
    -- the later copies are dropped. Only the copies of repeated ids are ranked: ranking
    -- every event sorted 3.1M rows at 100k customers to drop 63k (the model as a query,
    -- the same rows: 6.4 s against 5.6 s at 100k, 67-71 s against 58-67 s at 1M).
    select
        _batch_id,
        _source_row
    from (
        select
            source._batch_id,
            source._source_row,
            row_number() over (
                partition by repeated_messages.message_id
                order by
                    {{ utc_timestamp('source.received_at') }} asc nulls last,
                    source._loaded_at asc,
                    source._batch_id asc,
                    source._source_row asc
            ) as delivery_rank
        from source
        inner join repeated_messages
            on {{ clean_text('source.message_id') }} = repeated_messages.message_id
    ) as copies
    where delivery_rank > 1

),

-- The JSON columns as documents, parsed once per event for all their paths.
delivered as {{ compute_once() }} (

    select
        source.message_id,
        source.anonymous_id,
        source.user_id,
        source.type,
        source.event,
        {{ json_document('source.properties') }} as properties,
        {{ json_document('source.context') }} as context,
        source.timestamp,
        source.sent_at,
        source.received_at,
        source._loaded_at,
        source._batch_id
    -- An anti join on the few later copies. Written as `not exists`, DuckDB decorrelated it
    -- by first collecting every distinct (_batch_id, _source_row) of the 31M events at 1M
    -- customers: the model as a query took 88 s against 105 s.
    from source
    left join later_deliveries
        on
            source._batch_id = later_deliveries._batch_id
            and source._source_row = later_deliveries._source_row
    where
        {{ clean_text('source.message_id') }} is not null
        and later_deliveries._source_row is null

),

-- Each text field parsed once (on PostgreSQL, see `compute_once`).
renamed as {{ compute_once() }} (

    select
        {{ clean_text('message_id') }} as message_id,
        {{ clean_text('anonymous_id') }} as anonymous_id,
        {{ clean_text('user_id') }} as user_id,
        lower({{ clean_text('type') }}) as event_type,
        {{ clean_text('event') }} as event_name,
        {{ json_extract_text('properties', 'product_id', property_paths) }} as product_id,
        lower({{ json_extract_text('properties', 'category', property_paths) }}) as category,
        {{ safe_decimal(json_extract_text('properties', 'price', property_paths)) }} as price,
        {{ safe_integer(json_extract_text('properties', 'quantity', property_paths)) }}
            as quantity,
        {{ json_extract_text('properties', 'order_id', property_paths) }} as order_id,
        {{ safe_decimal(json_extract_text('properties', 'revenue', property_paths)) }}
            as revenue,
        {{ safe_decimal(json_extract_text('properties', 'value', property_paths)) }} as cart_value,
        upper({{ json_extract_text('properties', 'currency', property_paths) }}) as currency,
        coalesce(
            {{ json_extract_text('properties', 'path', property_paths) }},
            {{ json_extract_text('context', 'page.path', context_paths) }}
        ) as page_path,
        coalesce(
            {{ json_extract_text('properties', 'url', property_paths) }},
            {{ json_extract_text('context', 'page.url', context_paths) }}
        ) as page_url,
        {{ json_extract_text('context', 'userAgent', context_paths) }} as user_agent,
        lower({{ json_extract_text('context', 'device.type', context_paths) }}) as device_type,
        {{ json_extract_text('context', 'campaign.source', context_paths) }} as utm_source,
        {{ json_extract_text('context', 'campaign.medium', context_paths) }} as utm_medium,
        {{ json_extract_text('context', 'campaign.name', context_paths) }} as utm_campaign,
        {{ json_extract_text('context', 'campaign.term', context_paths) }} as utm_term,
        {{ json_extract_text('context', 'campaign.content', context_paths) }} as utm_content,
        {{ utc_timestamp('timestamp') }} as client_timestamp,
        {{ utc_timestamp('sent_at') }} as sent_at,
        {{ utc_timestamp('received_at') }} as received_at,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id
    from delivered

),

clock_offsets as {{ compute_once() }} (

    select
        *,
        {{ milliseconds_between('received_at', 'sent_at') }} as clock_offset_ms,
        coalesce(
            {{ milliseconds_between('sent_at', 'received_at') }} > {{ late_after_ms }}, false
        ) as is_late_arrival
    from renamed

),

corrected as (

    select
        *,
        case
            when clock_offset_ms is not null and not is_late_arrival
                then {{ dbt.dateadd('millisecond', '-clock_offset_ms', 'client_timestamp') }}
            else client_timestamp
        end as occurred_at,
        coalesce(
            not is_late_arrival and abs(clock_offset_ms) > {{ skewed_beyond_ms }}, false
        ) as is_clock_skewed,
        (
            {{ is_bot_user_agent('user_agent') }}
            or coalesce(device_type = 'bot', false)
        ) as is_bot
    from clock_offsets

),

final as (

    select
        message_id,
        anonymous_id,
        user_id,
        event_type,
        event_name,
        product_id,
        category,
        price,
        quantity,
        order_id,
        revenue,
        cart_value,
        currency,
        page_path,
        page_url,
        user_agent,
        device_type,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        occurred_at,
        client_timestamp,
        sent_at,
        received_at,
        clock_offset_ms,
        is_clock_skewed,
        is_late_arrival,
        is_bot,
        loaded_at,
        batch_id
    from corrected

)

select * from final
