{#-
    Email platform events (sent, delivered, bounce, open, click, unsubscribe), one row per
    event id: a webhook delivered twice collapses to the copy loaded first.
-#}

with

source as (

    select * from {{ source('raw', 'email__events') }}

),

renamed as (

    select
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ normalize_email('email') }} as email,
        lower({{ clean_text('event_type') }}) as event_type,
        {{ utc_timestamp('occurred_at') }} as occurred_at,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by loaded_at asc, batch_id asc, source_row asc
        ) as delivery_rank
    from renamed
    where event_id is not null

),

final as (

    select
        event_id,
        campaign_id,
        email,
        event_type,
        occurred_at,
        loaded_at,
        batch_id
    from ranked
    where delivery_rank = 1

)

select * from final
