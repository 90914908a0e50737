{#-
    In-store till sales, one row per transaction id. Tills record local wall-clock time
    without a zone; `transacted_at` is that time in UTC, converted with the store's IANA time
    zone (daylight saving included). The lookup of the zone in `stg_store__stores` is the one
    join in staging: the time cannot be typed without it.
-#}
with

source as (

    select * from {{ source('raw', 'store__transactions') }}

),

stores as (

    select * from {{ ref('stg_store__stores') }}

),

renamed as (

    select
        {{ clean_text('transaction_id') }} as transaction_id,
        {{ clean_text('store_id') }} as store_id,
        {{ safe_timestamp('transacted_at_local') }} as transacted_at_local,
        {{ normalize_loyalty_id('loyalty_id') }} as loyalty_id,
        {{ safe_decimal('amount') }} as amount,
        {{ safe_integer('items') }} as items,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by transaction_id
            order by loaded_at desc, batch_id desc, source_row desc
        ) as version_rank
    from renamed
    where transaction_id is not null

),

localised as (

    select
        ranked.transaction_id,
        ranked.store_id,
        {{ local_to_utc('ranked.transacted_at_local', 'stores.timezone') }} as transacted_at,
        ranked.transacted_at_local,
        stores.timezone as store_timezone,
        ranked.loyalty_id,
        ranked.amount,
        ranked.items,
        ranked.loaded_at,
        ranked.batch_id
    from ranked
    left join stores
        on ranked.store_id = stores.store_id
    where ranked.version_rank = 1

),

final as (

    select * from localised

)

select * from final
