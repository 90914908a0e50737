with

source as (

    select * from {{ source('raw', 'shop__orders') }}

),

typed as (

    select
        trim(order_id) as order_id,
        nullif(trim(customer_id), '') as customer_id,
        try_cast(ordered_at as timestamptz) at time zone 'UTC' as ordered_at,
        lower(trim(status)) as order_status,
        try_cast(amount as decimal(18, 2)) as amount,
        upper(trim(currency)) as currency,
        lower(trim(channel)) as channel,
        try_cast(updated_at as timestamptz) at time zone 'UTC' as updated_at,
        _loaded_at as loaded_at,
        _batch_id as batch_id
    from source

),

deduplicated as (

    -- An order can arrive more than once (re-exports, status changes): the version updated
    -- last wins, then the one loaded last.
    select *
    from typed
    qualify row_number() over (
        partition by order_id order by updated_at desc nulls last, loaded_at desc
    ) = 1

),

final as (

    select *
    from deduplicated

)

select * from final
